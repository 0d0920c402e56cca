"""Register words <-> engineering values, per a profile point. Pure functions."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
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


_STRUCTS = {name: struct.Struct(">" + fmt) for name, fmt in _FORMATS.items()}


class DecodeError(ValueError):
    pass


def decode_words(words: Sequence[int], point: Point) -> float:
    """Decode the point's registers (already cut to its length) into its engineering value.

    Raises DecodeError for a wrong word count; returns NaN as NaN (the caller marks it invalid).
    """
    if point.type == "bool":
        if len(words) != 1:
            raise DecodeError(f"{point.name}: expected 1 value, got {len(words)}")
        return float(bool(words[0])) * point.scale + point.offset
    if len(words) != point.words:
        raise DecodeError(f"{point.name}: expected {point.words} registers, got {len(words)}")
    raw = struct.pack(f">{len(words)}H", *(w & 0xFFFF for w in words))
    if point.word_order != "big":
        raw = _swap_words(raw)
    (value,) = _STRUCTS[point.type].unpack(raw)
    return float(value) * point.scale + point.offset


def _swap_words(raw: bytes) -> bytes:
    """Low word first -> high word first (the bytes within a word stay big-endian)."""
    return b"".join(raw[i : i + 2] for i in range(len(raw) - 2, -1, -2))


class BlockDecoder:
    """Every point of one read block decoded in one pass, the driver's hot path.

    The layout is worked out once per block: the block's words are packed once and each point
    is unpacked at its offset with a precompiled struct, instead of slicing, re-packing and
    looking its type up per point and per read. Gives the same values as `decode_words`.
    """

    __slots__ = ("_count", "_fields", "_pack")

    def __init__(self, address: int, count: int, points: Sequence[Point]) -> None:
        self._count = count
        self._pack = struct.Struct(f">{count}H").pack
        # (point, byte offset, byte length, struct or None for a bit, low word first?)
        self._fields = tuple(
            (
                p,
                2 * (p.address - address),
                2 * p.words,
                None if p.type == "bool" else _STRUCTS[p.type],
                p.word_order != "big",
            )
            for p in points
        )

    def decode(self, words: Sequence[int]) -> list[tuple[Point, float]]:
        """(point, engineering value) for each point; DecodeError if the block is short."""
        if len(words) != self._count:
            raise DecodeError(f"block: expected {self._count} registers, got {len(words)}")
        try:
            raw = self._pack(*words)
        except struct.error:  # a value outside 0..0xFFFF: keep its low 16 bits, as one word
            raw = self._pack(*(w & 0xFFFF for w in words))
        out = []
        for point, at, size, fmt, swap in self._fields:
            if fmt is None:
                value = float(bool(words[at // 2]))
            elif swap:
                value = float(fmt.unpack(_swap_words(raw[at : at + size]))[0])
            else:
                value = float(fmt.unpack_from(raw, at)[0])
            out.append((point, value * point.scale + point.offset))
        return out


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
    if not math.isfinite(value):
        return "not a number"
    if point.min is not None and value < point.min:
        return f"below physical range ({value:g} < {point.min:g})"
    if point.max is not None and value > point.max:
        return f"above physical range ({value:g} > {point.max:g})"
    if point.counter and previous is not None and value < previous:
        return f"counter went backwards ({previous:g} -> {value:g})"
    return None
