"""SunSpec models, decoded and encoded with pysunspec2's model definitions (its JSON files),
never with hand-written tables. The one module that imports pysunspec2.

Only pysunspec2's transport-free `device.Model` is used: its own Modbus clients are blocking
and would stall the event loop, so registers travel through our links and are handed here.
Offsets are relative to a model's ID register; values come back scaled by their scale
factor, and "not implemented" sentinels (0x8000, 0xFFFF, NaN...) come back as None.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sunspec2 import device as ss_device

SUNS = (0x5375, 0x6E53)  # "SunS"
BASE_ADDRESSES = (40000, 0, 50000)  # where devices put the SunS marker, in pysunspec2's order
END_MODEL = 0xFFFF
HEADER_WORDS = 2  # ID and L


class SunSpecError(Exception):
    """A model cannot be decoded or encoded (unknown id, short data, bad value)."""


@dataclass(frozen=True, slots=True)
class ModelLocation:
    model_id: int
    address: int  # of the model's ID register
    length: int  # L: registers after ID and L

    @property
    def words(self) -> int:
        return self.length + HEADER_WORDS


@dataclass(frozen=True, slots=True)
class PointInfo:
    name: str
    offset: int  # registers from the model's ID register
    size: int
    type: str  # SunSpec type: int16, uint32, acc32, enum16, sunssf, string...
    scale_factor: str | None  # name of the scale-factor point, if any
    writable: bool
    symbols: Mapping[int, str]  # enum values -> names


def _to_bytes(words: Sequence[int]) -> bytes:
    return struct.pack(f">{len(words)}H", *(w & 0xFFFF for w in words))


def _to_words(data: bytes) -> list[int]:
    return list(struct.unpack(f">{len(data) // 2}H", data))


def _model(model_id: int, words: Sequence[int] | None = None) -> Any:
    try:
        if words is None:
            return ss_device.Model(model_id=model_id)
        model = ss_device.Model(
            model_id=model_id, model_len=len(words) - HEADER_WORDS, data=_to_bytes(words)
        )
    except Exception as exc:  # pysunspec2 raises bare Exceptions for unknown models
        raise SunSpecError(f"model {model_id}: {exc}") from exc
    if model.error_info:
        raise SunSpecError(f"model {model_id}: {model.error_info.strip()}")
    return model


@cache
def known(model_id: int) -> bool:
    try:
        ss_device.get_model_def(model_id)
    except Exception:
        return False
    return True


@cache
def points(model_id: int) -> dict[str, PointInfo]:
    """The fixed (non-repeating) points of a model, from its definition."""
    if not known(model_id):
        raise SunSpecError(f"model {model_id}: no SunSpec model definition")
    model = _model(model_id)
    out = {}
    for name, point in model.points.items():
        pdef = point.pdef
        out[name] = PointInfo(
            name=name,
            offset=int(point.offset),
            size=int(point.len),
            type=str(pdef["type"]),
            scale_factor=pdef.get("sf") if isinstance(pdef.get("sf"), str) else None,
            writable=pdef.get("access") == "RW",
            symbols={int(s["value"]): str(s["name"]) for s in pdef.get("symbols", [])},
        )
    return out


def decode(model_id: int, words: Sequence[int]) -> dict[str, float | str | None]:
    """Every fixed point of one model's registers (ID first), scaled; None = not implemented."""
    model = _model(model_id, words)
    values: dict[str, float | str | None] = {}
    for name, point in model.points.items():
        value = point.cvalue
        values[name] = value if value is None or isinstance(value, str) else float(value)
    return values


def encode(model_id: int, words: Sequence[int], name: str, value: float) -> list[int]:
    """The registers to write at the point's offset so it reads `value`, scaled with the
    scale factor currently in `words` (the model as last read)."""
    model = _model(model_id, words)
    point = model.points.get(name)
    if point is None:
        raise SunSpecError(f"model {model_id}: no point {name!r}")
    info = points(model_id)[name]
    raw: float | int = value
    if info.scale_factor is None and not info.type.startswith("float"):
        raw = round(value)  # integer registers without a scale factor take whole numbers
    try:
        point.cvalue = raw
        return _to_words(point.get_mb(computed=False))
    except Exception as exc:
        raise SunSpecError(f"model {model_id}: {name} = {value!r} does not encode: {exc}") from exc


def model_words(model_id: int, values: Mapping[str, Any]) -> list[int]:
    """A whole model's registers from raw point values (for simulators and tests)."""
    data = {"ID": model_id, **values}
    try:
        model = ss_device.Model(model_id=model_id, data=data)
        return _to_words(model.get_mb())
    except Exception as exc:
        raise SunSpecError(f"model {model_id}: cannot build from {sorted(values)}: {exc}") from exc
