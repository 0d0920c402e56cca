"""Register words <-> engineering values, per a profile point. Pure functions."""

from __future__ import annotations

import math
import struct
from typing import Protocol

from edge.drivers.modbus_profile import Point

_FORMATS = {
    "int16": "h",
    "uint16": "H",
    "int32": "i",
    "uint32": "I",
    "float32": "f",
    "int64": "q",
    "uint64": "Q",
    "float64": "d",
}


class DecodeError(ValueError):
    pass


def decode_words(words: list[int] | tuple[int, ...], point: Point) -> float:
    """Decode the point's registers (already cut to its length) into its engineering value.

    Raises DecodeError for a wrong word count; returns NaN as NaN (the caller marks it invalid).
    """
    if point.type == "bool":
        if len(words) != 1:
            raise DecodeError(f"{point.name}: expected 1 value, got {len(words)}")
        return float(bool(words[0])) * point.scale + point.offset
    if len(words) != point.words:
        raise DecodeError(f"{point.name}: expected {point.words} registers, got {len(words)}")
    ordered = list(words) if point.word_order == "big" else list(reversed(words))
    raw = struct.pack(f">{len(ordered)}H", *(w & 0xFFFF for w in ordered))
    (value,) = struct.unpack(">" + _FORMATS[point.type], raw)
    return float(value) * point.scale + point.offset


def encode_value(value: float, point: Point) -> list[int]:
    """The registers that hold `value` for this point (inverse of decode_words).

    Used to build setpoint writes and by the simulators; writability is the caller's check.
    """
    raw_value = (value - point.offset) / point.scale
    if point.type == "bool":
        return [1 if raw_value else 0]
    fmt = _FORMATS[point.type]
    if fmt in "fd":
        packed = struct.pack(">" + fmt, raw_value)
    else:
        rounded = round(raw_value)
        try:
            packed = struct.pack(">" + fmt, rounded)
        except struct.error as exc:
            raise DecodeError(f"{point.name}: {value} does not fit a {point.type}") from exc
    words = list(struct.unpack(f">{len(packed) // 2}H", packed))
    return words if point.word_order == "big" else list(reversed(words))


class HasRange(Protocol):
    """What plausibility needs of a point, whatever its protocol."""

    @property
    def min(self) -> float | None: ...
    @property
    def max(self) -> float | None: ...
    @property
    def counter(self) -> bool: ...


def plausible(value: float, point: HasRange, previous: float | None) -> str | None:
    """Why a decoded value cannot be used for control, or None if it can."""
    if math.isnan(value) or math.isinf(value):
        return "not a number"
    if point.min is not None and value < point.min:
        return f"below physical range ({value:g} < {point.min:g})"
    if point.max is not None and value > point.max:
        return f"above physical range ({value:g} > {point.max:g})"
    if point.counter and previous is not None and value < previous:
        return f"counter went backwards ({previous:g} -> {value:g})"
    return None
