"""Device profiles: a device model as data (register map, types, scaling, units, periods).

One generic driver executes any profile, so adding a meter is adding a TOML file. Addresses
are PDU addresses (0-based) as sent on the wire; a datasheet's 30001/40001 register numbers
are converted once, when the profile is written, and kept in `ref` for the reader.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

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


class Table(StrEnum):
    HOLDING = "holding"  # FC3 read, FC6/16 write
    INPUT = "input"  # FC4
    COIL = "coil"  # FC1 read, FC5/15 write
    DISCRETE = "discrete"  # FC2


class ProfileError(Exception):
    """A profile file is malformed; the message names the file and the key."""


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
    writable: bool
    min: float | None  # physical range; outside it the reading is invalid
    max: float | None
    counter: bool  # a monotonic energy counter: going backwards marks it invalid
    ref: str  # where in the datasheet

    @property
    def words(self) -> int:
        return REGISTER_WORDS[self.type] if self.table in (Table.HOLDING, Table.INPUT) else 1


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

    def point(self, name: str) -> Point:
        for p in self.points:
            if p.name == name:
                return p
        raise KeyError(f"profile {self.id}: no point {name!r}")


_PROFILE_KEYS = {
    "id",
    "kind",
    "vendor",
    "models",
    "datasheet",
    "max_registers_per_read",
    "defaults",
    "points",
}
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
}


def load_profile(path: Path) -> Profile:
    """Parse and check one profile file; every problem raises ProfileError with file and key."""
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{where}: cannot read profile: {exc}") from exc
    _no_unknown(where, "", data, _PROFILE_KEYS)
    for key in ("id", "kind", "points"):
        if key not in data:
            raise ProfileError(f"{where}: {key}: missing (required)")
    if data["kind"] not in ("meter", "inverter", "charger", "io"):
        raise ProfileError(
            f"{where}: kind: {data['kind']!r} is not one of meter, inverter, charger, io"
        )
    defaults = data.get("defaults", {})
    _no_unknown(where, "defaults.", defaults, _POINT_KEYS)
    points = data["points"]
    if not isinstance(points, dict) or not points:
        raise ProfileError(f"{where}: points: must be a table of at least one point")
    max_regs = data.get("max_registers_per_read", MAX_REGISTERS_PER_READ)
    if not isinstance(max_regs, int) or not 1 <= max_regs <= MAX_REGISTERS_PER_READ:
        raise ProfileError(f"{where}: max_registers_per_read: must be 1..125, got {max_regs!r}")
    return Profile(
        id=str(data["id"]),
        kind=str(data["kind"]),
        vendor=str(data.get("vendor", "")),
        models=tuple(data.get("models", ())),
        datasheet=str(data.get("datasheet", "")),
        max_registers_per_read=max_regs,
        points=tuple(_point(where, name, {**defaults, **spec}) for name, spec in points.items()),
        source=path,
    )


def _no_unknown(where: str, prefix: str, table: dict[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ProfileError(
                f"{where}: {prefix}{key}: unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def _point(where: str, name: str, spec: dict[str, Any]) -> Point:
    key = f"points.{name}"
    _no_unknown(where, key + ".", spec, _POINT_KEYS)

    def get(field: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = spec.get(field, default)
        if value is None and default is None and field in ("address", "table"):
            raise ProfileError(f"{where}: {key}.{field}: missing (required)")
        if value is not None and not isinstance(value, kind):
            raise ProfileError(
                f"{where}: {key}.{field}: wrong type {type(value).__name__} {value!r}"
            )
        return value

    try:
        table = Table(get("table", str))
    except ValueError as exc:
        raise ProfileError(
            f"{where}: {key}.table: {spec['table']!r} is not one of "
            f"{', '.join(t.value for t in Table)}"
        ) from exc
    dtype = get("type", str, "bool" if table in (Table.COIL, Table.DISCRETE) else "uint16")
    if dtype not in REGISTER_WORDS:
        raise ProfileError(
            f"{where}: {key}.type: {dtype!r} is not one of {', '.join(REGISTER_WORDS)}"
        )
    address = get("address", int)
    if not 0 <= address <= 0xFFFF:
        raise ProfileError(f"{where}: {key}.address: must be 0..65535 (PDU address), got {address}")
    word_order = get("word_order", str, "big")
    if word_order not in ("big", "little"):
        raise ProfileError(f"{where}: {key}.word_order: {word_order!r} is not one of big, little")
    access = get("access", str, "r")
    if access not in ("r", "rw"):
        raise ProfileError(f"{where}: {key}.access: {access!r} is not one of r, rw")
    if access == "rw" and table in (Table.INPUT, Table.DISCRETE):
        raise ProfileError(f"{where}: {key}.access: {table.value} registers cannot be written")
    period = float(get("period_s", (int, float), 1.0))
    if period <= 0:
        raise ProfileError(f"{where}: {key}.period_s: must be > 0, got {period}")
    lo, hi = get("min", (int, float)), get("max", (int, float))
    return Point(
        name=name,
        table=table,
        address=address,
        type=dtype,
        word_order=word_order,
        scale=float(get("scale", (int, float), 1.0)),
        offset=float(get("offset", (int, float), 0.0)),
        unit=str(get("unit", str, "")),
        period_s=period,
        writable=access == "rw",
        min=float(lo) if lo is not None else None,
        max=float(hi) if hi is not None else None,
        counter=bool(get("counter", bool, False)),
        ref=str(get("ref", str, "")),
    )
