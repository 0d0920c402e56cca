"""Modbus device profiles: a device model as data (register map, types, scaling, units, periods).

One generic driver executes any profile, so adding a meter is adding a TOML file. Addresses
are PDU addresses (0-based) as sent on the wire; a datasheet's 30001/40001 register numbers
are converted once, when the profile is written, and kept in `ref` for the reader.
The format is described in docs/drivers.md; the loader rejects anything else, naming the
file and the key.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from edge.drivers.profile_common import (
    HEADER_KEYS,
    FieldReader,
    ProfileError,
    check_connector_names,
    connector_count,
    connector_point,
    find_point,
    header,
    no_unknown,
    read_profile_file,
)

__all__ = ["MAX_REGISTERS_PER_READ", "Point", "Profile", "ProfileError", "Table", "load_profile"]

REGISTER_WORDS = {
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
    "int64": 4,
    "uint64": 4,
    "float64": 4,
    "bool": 1,
}
MAX_REGISTERS_PER_READ = 125  # Modbus FC3/FC4 limit
DEFAULT_MAX_GAP = 16  # unused registers worth reading through rather than sending one more request


class Table(StrEnum):
    HOLDING = "holding"  # FC3 read, FC6/16 write
    INPUT = "input"  # FC4
    COIL = "coil"  # FC1 read, FC5/15 write
    DISCRETE = "discrete"  # FC2

    @property
    def is_register(self) -> bool:
        return self in (Table.HOLDING, Table.INPUT)


@dataclass(frozen=True, slots=True)
class Point:
    name: str
    table: Table
    address: int
    type: str
    word_order: str  # "big": high word first; "little": low word first
    scale: float  # engineering value = raw * scale + offset
    offset: float
    unit: str
    period_s: float
    access: str  # r: polled; rw: polled and written; w: written only (never polled)
    min: float | None  # physical range; outside it the reading is invalid
    max: float | None
    counter: bool  # a monotonic energy counter: going backwards marks it invalid
    ref: str  # where in the datasheet
    confirm: str | None = None  # the point read back to confirm a write (None: no read-back)
    labels: Mapping[int, str] = field(default_factory=dict)  # status code -> word

    @property
    def words(self) -> int:
        return REGISTER_WORDS[self.type] if self.table.is_register else 1

    @property
    def writable(self) -> bool:
        return self.access in ("rw", "w")

    @property
    def polled(self) -> bool:
        return self.access != "w"


@dataclass(frozen=True, slots=True)
class Profile:
    id: str
    kind: str  # meter | inverter | charger | io
    vendor: str
    models: tuple[str, ...]
    datasheet: str
    max_registers_per_read: int
    points: tuple[Point, ...]
    source: Path
    max_gap: int = DEFAULT_MAX_GAP
    # Written once when the driver starts, in file order: safe outputs and device watchdogs.
    startup: tuple[tuple[str, float], ...] = ()
    # A block whose registers do not change at all for this long is a frozen device (its
    # analog values always jitter when it is alive); None: no such check for this model.
    frozen_after_s: float | None = None
    protocol: str = "modbus"
    connectors: int = 1  # connector n's copies of the block's points: `connector_<n>_<name>`

    def point(self, name: str) -> Point:
        return find_point(self.id, self.points, name)


_PROFILE_KEYS = HEADER_KEYS | {"max_registers_per_read", "max_gap", "defaults", "startup"}
_PROFILE_KEYS |= {"frozen_after_s", "connectors"}
_POINT_KEYS = {
    "table",
    "address",
    "type",
    "word_order",
    "scale",
    "offset",
    "unit",
    "period_s",
    "access",
    "min",
    "max",
    "counter",
    "ref",
    "confirm",
    "labels",
}


def load_profile(path: Path, data: Mapping[str, Any] | None = None) -> Profile:
    """Parse and check one Modbus profile file; every problem raises ProfileError."""
    where = path.name
    data = read_profile_file(path) if data is None else data
    head = header(path, data)
    no_unknown(where, "", data, _PROFILE_KEYS)
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ProfileError(f"{where}: defaults: must be a table")
    no_unknown(where, "defaults.", defaults, _POINT_KEYS)
    top = FieldReader(where, "(profile)", data)
    max_regs = top.get("max_registers_per_read", int, MAX_REGISTERS_PER_READ)
    if not 1 <= max_regs <= MAX_REGISTERS_PER_READ:
        raise ProfileError(f"{where}: max_registers_per_read: must be 1..125, got {max_regs!r}")
    max_gap = top.get("max_gap", int, DEFAULT_MAX_GAP)
    if not 0 <= max_gap < max_regs:
        raise ProfileError(f"{where}: max_gap: must be 0..{max_regs - 1}, got {max_gap!r}")
    frozen = top.number("frozen_after_s")
    if frozen is not None and frozen <= 0:
        raise ProfileError(f"{where}: frozen_after_s: must be > 0, got {frozen:g}")
    points = tuple(_point(where, n, {**defaults, **s}) for n, s in data["points"].items())
    count = connector_count(where, data)
    points += _connector_copies(where, data.get("connectors", {}), points, count)
    check_connector_names(where, (p.name for p in points), count)
    _check_points(where, points)
    return Profile(
        id=head.id,
        kind=head.kind,
        vendor=head.vendor,
        models=head.models,
        datasheet=head.datasheet,
        max_registers_per_read=max_regs,
        points=points,
        source=path,
        max_gap=max_gap,
        startup=_startup(where, data.get("startup", {}), points),
        frozen_after_s=frozen,
        connectors=count,
    )


def _connector_copies(
    where: str, block: Mapping[str, Any], points: tuple[Point, ...], count: int
) -> tuple[Point, ...]:
    """`[connectors]`: `stride` registers between connector blocks, and the `points` (given
    at connector 1's addresses) that every connector repeats."""
    no_unknown(where, "connectors.", block, {"count", "stride", "points"})
    f = FieldReader(where, "connectors", block)
    names = f.get("points", list, [])
    if count == 1:
        return ()
    stride = f.required("stride", int)
    if not names or not all(isinstance(n, str) for n in names):
        raise f.fail("points", "must list the point names each connector repeats")
    by_name = {p.name: p for p in points}
    copies: list[Point] = []
    for name in names:
        if name not in by_name:
            raise f.fail("points", f"{name!r} is not a point of this profile")
        for n in range(2, count + 1):
            copies.append(_copy(f, by_name[name], n, stride, set(names)))
    return tuple(copies)


def _copy(f: FieldReader, point: Point, n: int, stride: int, repeated: set[str]) -> Point:
    address = point.address + stride * (n - 1)
    if not 0 <= address <= 0xFFFF:
        raise f.fail("stride", f"puts {point.name} of connector {n} at {address}, past 65535")
    confirm = point.confirm
    if confirm is not None and confirm in repeated:
        confirm = connector_point(confirm, n)
    ref = f"connector {n}: {point.ref} + {stride * (n - 1)}" if point.ref else ""
    return replace(
        point, name=connector_point(point.name, n), address=address, confirm=confirm, ref=ref
    )


def _point(where: str, name: str, spec: dict[str, Any]) -> Point:
    key = f"points.{name}"
    no_unknown(where, key + ".", spec, _POINT_KEYS)
    f = FieldReader(where, key, spec)
    f.required("table", str)
    table = Table(f.choice("table", tuple(t.value for t in Table), ""))
    dtype = f.choice("type", tuple(REGISTER_WORDS), "uint16" if table.is_register else "bool")
    if table.is_register == (dtype == "bool"):
        raise f.fail("type", f"{dtype!r} does not fit a {table.value} point")
    address = f.required("address", int)
    if not 0 <= address <= 0xFFFF:
        raise f.fail("address", f"must be 0..65535 (PDU address), got {address}")
    access = f.choice("access", ("r", "rw", "w"), "r")
    if access != "r" and table in (Table.INPUT, Table.DISCRETE):
        raise f.fail("access", f"{table.value} registers cannot be written")
    scale = float(f.get("scale", (int, float), 1.0))
    if scale == 0:
        raise f.fail("scale", "must not be 0")
    lo, hi = _range(f)
    confirm = f.get("confirm", str)
    if confirm is None and access == "rw":
        confirm = name  # a holding register or coil written and polled confirms itself
    return Point(
        name=name,
        table=table,
        address=address,
        type=dtype,
        word_order=f.choice("word_order", ("big", "little"), "big"),
        scale=scale,
        offset=float(f.get("offset", (int, float), 0.0)),
        unit=str(f.get("unit", str, "")),
        period_s=f.positive("period_s", 1.0),
        access=access,
        min=lo,
        max=hi,
        counter=bool(f.get("counter", bool, False)),
        ref=str(f.get("ref", str, "")),
        confirm=confirm,
        labels=f.labels(),
    )


def _range(f: FieldReader) -> tuple[float | None, float | None]:
    lo, hi = f.number("min"), f.number("max")
    if lo is not None and hi is not None and lo > hi:
        raise f.fail("min", f"{lo:g} is above max {hi:g}")
    return lo, hi


def _check_points(where: str, points: tuple[Point, ...]) -> None:
    by_name = {p.name: p for p in points}
    if not any(p.polled for p in points):
        raise ProfileError(f"{where}: points: at least one point must be readable")
    for p in points:
        if p.confirm is None:
            continue
        target = by_name.get(p.confirm)
        if p.access == "r":
            raise ProfileError(f"{where}: points.{p.name}.confirm: only written points confirm")
        if target is None or not target.polled:
            raise ProfileError(
                f"{where}: points.{p.name}.confirm: {p.confirm!r} is not a readable point"
            )
        if target.table.is_register != p.table.is_register:
            raise ProfileError(
                f"{where}: points.{p.name}.confirm: {p.confirm!r} holds a different kind of value"
            )
    _check_overlaps(where, [p for p in points if p.polled])


def _check_overlaps(where: str, points: list[Point]) -> None:
    """Two polled points sharing a register are almost always a typo in an address."""
    for table in Table:
        ordered = sorted((p for p in points if p.table is table), key=lambda p: p.address)
        for a, b in itertools.pairwise(ordered):
            if b.address < a.address + a.words:
                raise ProfileError(
                    f"{where}: points.{b.name}.address: {b.address} overlaps points.{a.name} "
                    f"({a.address}..{a.address + a.words - 1}, {table.value})"
                )


def _startup(where: str, raw: Any, points: tuple[Point, ...]) -> tuple[tuple[str, float], ...]:
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: startup: must be a table of point = value")
    writable = {p.name for p in points if p.writable}
    out: list[tuple[str, float]] = []
    for name, value in raw.items():
        if name not in writable:
            raise ProfileError(
                f"{where}: startup.{name}: not a writable point "
                f"(writable: {', '.join(sorted(writable)) or 'none'})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProfileError(f"{where}: startup.{name}: must be a number, got {value!r}")
        out.append((name, float(value)))
    return tuple(out)
