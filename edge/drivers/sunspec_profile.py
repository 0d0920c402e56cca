"""SunSpec profiles: which model points a device's values come from, as data.

A point lists its sources in order of preference, `"701.W"` before `"103.W"`: the first
model the device actually has wins (the device's model chain is discovered at run time).
Offsets, types and scale factors come from pysunspec2's model definitions, so a profile
names points only; the loader checks every name against those definitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.drivers import sunspec_models
from edge.drivers.profile_common import (
    HEADER_KEYS,
    FieldReader,
    ProfileError,
    find_point,
    header,
    no_unknown,
    read_profile_file,
)

CURTAILMENT_MODELS = (704, 123)  # DER AC controls (IEEE 1547-2018), then legacy immediate ctl


@dataclass(frozen=True, slots=True)
class Source:
    model_id: int
    point: str

    def __str__(self) -> str:
        return f"{self.model_id}.{self.point}"


@dataclass(frozen=True, slots=True)
class SunSpecPoint:
    name: str
    sources: tuple[Source, ...]
    unit: str
    period_s: float
    min: float | None
    max: float | None
    counter: bool
    ref: str
    writable: bool = False  # set through `curtail`, never as a raw point write
    labels: Mapping[int, str] = field(default_factory=dict)

    @property
    def polled(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class SunSpecProfile:
    id: str
    kind: str
    vendor: str
    models: tuple[str, ...]
    datasheet: str
    points: tuple[SunSpecPoint, ...]
    source: Path
    base_addresses: tuple[int, ...] = sunspec_models.BASE_ADDRESSES
    revert_pct: float = 100.0  # what the inverter falls back to when its controller is silent
    protocol: str = "sunspec"

    def point(self, name: str) -> SunSpecPoint:
        return find_point(self.id, self.points, name)


_KEYS = HEADER_KEYS | {"base_addresses", "curtailment"}
_POINT_KEYS = {"sources", "unit", "period_s", "min", "max", "counter", "ref", "labels"}


def load_sunspec_profile(path: Path, data: Mapping[str, Any] | None = None) -> SunSpecProfile:
    where = path.name
    data = read_profile_file(path) if data is None else data
    head = header(path, data)
    no_unknown(where, "", data, _KEYS)
    bases = data.get("base_addresses", list(sunspec_models.BASE_ADDRESSES))
    if not isinstance(bases, list) or not all(
        isinstance(b, int) and 0 <= b <= 0xFFFF for b in bases
    ):
        raise ProfileError(f"{where}: base_addresses: must be a list of register addresses")
    curtailment = data.get("curtailment", {})
    if not isinstance(curtailment, dict):
        raise ProfileError(f"{where}: curtailment: must be a table")
    no_unknown(where, "curtailment.", curtailment, {"revert_pct"})
    revert = FieldReader(where, "curtailment", curtailment).number("revert_pct", 100.0)
    if revert is None or not 0 <= revert <= 100:
        raise ProfileError(f"{where}: curtailment.revert_pct: must be 0..100, got {revert!r}")
    return SunSpecProfile(
        id=head.id,
        kind=head.kind,
        vendor=head.vendor,
        models=head.models,
        datasheet=head.datasheet,
        points=tuple(_point(where, n, s) for n, s in data["points"].items()),
        source=path,
        base_addresses=tuple(bases),
        revert_pct=revert,
    )


def _point(where: str, name: str, spec: dict[str, Any]) -> SunSpecPoint:
    key = f"points.{name}"
    no_unknown(where, key + ".", spec, _POINT_KEYS)
    f = FieldReader(where, key, spec)
    raw = f.required("sources", list)
    if not raw:
        raise f.fail("sources", 'must name at least one model point, e.g. "103.W"')
    sources = tuple(_source(f, text) for text in raw)
    lo, hi = f.number("min"), f.number("max")
    if lo is not None and hi is not None and lo > hi:
        raise f.fail("min", f"{lo:g} is above max {hi:g}")
    return SunSpecPoint(
        name=name,
        sources=sources,
        unit=str(f.get("unit", str, "")),
        period_s=f.positive("period_s", 1.0),
        min=lo,
        max=hi,
        counter=bool(f.get("counter", bool, False)),
        ref=str(f.get("ref", str, ", ".join(str(s) for s in sources))),
        labels=f.labels(),
    )


def _source(f: FieldReader, text: Any) -> Source:
    if not isinstance(text, str) or "." not in text:
        raise f.fail("sources", f'{text!r} is not MODEL.POINT, e.g. "103.W"')
    model_text, point = text.split(".", 1)
    try:
        model_id = int(model_text)
    except ValueError as exc:
        raise f.fail("sources", f"{text!r}: {model_text!r} is not a model number") from exc
    if not sunspec_models.known(model_id):
        raise f.fail("sources", f"{text!r}: no SunSpec model {model_id} definition")
    if point not in sunspec_models.points(model_id):
        raise f.fail("sources", f"{text!r}: model {model_id} has no point {point!r}")
    return Source(model_id, point)
