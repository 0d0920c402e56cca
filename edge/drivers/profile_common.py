"""What every profile file shares, whatever its protocol: the header keys and the checks.

A profile file is TOML. Every problem is a `ProfileError` naming the file and the key path,
e.g. `janitza-umg604.toml: points.power_w.type: 'float' is not one of int16, ...`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

KINDS = ("meter", "inverter", "charger", "io")
PROTOCOLS = ("modbus", "sunspec", "can", "gpio")
HEADER_KEYS = {"id", "kind", "protocol", "vendor", "models", "datasheet", "points"}
MAX_CONNECTORS = 64
_CONNECTOR_NAME = re.compile(r"^connector_([0-9]+)_(.+)$")


def connector_point(name: str, connector: int) -> str:
    """The point `name` of connector `connector`: connector 1 answers to the plain name (so a
    one-connector map needs no block), connector n >= 2 to `connector_<n>_<name>`."""
    return name if connector == 1 else f"connector_{connector}_{name}"


class ProfileError(Exception):
    """A profile file is malformed; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Header:
    id: str
    kind: str  # meter | inverter | charger | io
    protocol: str  # modbus | sunspec | can
    vendor: str
    models: tuple[str, ...]
    datasheet: str
    source: Path


class Named(Protocol):
    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=Named)


def find_point(profile_id: str, points: Iterable[NamedT], name: str) -> NamedT:
    """A profile's point by name; every profile kind looks its points up the same way."""
    for p in points:
        if p.name == name:
            return p
    raise KeyError(f"profile {profile_id}: no point {name!r}")


def read_profile_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path.name}: cannot read profile: {exc}") from exc
    return data


def connector_count(where: str, data: Mapping[str, Any]) -> int:
    """`[connectors] count`, 1 when the profile has no block."""
    block = data.get("connectors", {})
    if not isinstance(block, dict):
        raise ProfileError(f"{where}: connectors: must be a table")
    count = FieldReader(where, "connectors", block).get("count", int, 1)
    if not 1 <= count <= MAX_CONNECTORS:
        raise ProfileError(f"{where}: connectors.count: must be 1..{MAX_CONNECTORS}, got {count}")
    return int(count)


def check_connector_names(where: str, names: Iterable[str], count: int) -> None:
    """Every `connector_<n>_<name>` point is a connector that exists, and copies a plain point
    (connector 1's), so the port finds every connector's points by one rule."""
    known = set(names)
    for name in known:
        match = _CONNECTOR_NAME.match(name)
        if match is None:
            continue
        number, base = int(match.group(1)), match.group(2)
        if not 2 <= number <= count:
            raise ProfileError(
                f"{where}: points.{name}: connector {number} does not exist "
                f"(connectors.count is {count}; connector 1 uses the plain name)"
            )
        if base not in known:
            raise ProfileError(f"{where}: points.{name}: no connector-1 point {base!r} to copy")


def no_unknown(where: str, prefix: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ProfileError(
                f"{where}: {prefix}{key}: unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def header(path: Path, data: Mapping[str, Any]) -> Header:
    where = path.name
    for key in ("id", "kind", "points"):
        if key not in data:
            raise ProfileError(f"{where}: {key}: missing (required)")
    if not isinstance(data["id"], str) or not data["id"]:
        raise ProfileError(f"{where}: id: must be a non-empty string, got {data['id']!r}")
    if data["kind"] not in KINDS:
        raise ProfileError(f"{where}: kind: {data['kind']!r} is not one of {', '.join(KINDS)}")
    protocol = data.get("protocol", "modbus")
    if protocol not in PROTOCOLS:
        raise ProfileError(f"{where}: protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    models = data.get("models", [])
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ProfileError(f"{where}: models: must be a list of strings")
    points = data["points"]
    if not isinstance(points, dict) or not points:
        raise ProfileError(f"{where}: points: must be a table of at least one point")
    for name, spec in points.items():
        if not isinstance(spec, dict):
            raise ProfileError(f"{where}: points.{name}: must be a table")
    return Header(
        id=data["id"],
        kind=data["kind"],
        protocol=protocol,
        vendor=str(data.get("vendor", "")),
        models=tuple(models),
        datasheet=str(data.get("datasheet", "")),
        source=path,
    )


class FieldReader:
    """Typed access to one table of a profile, with errors naming file and key path."""

    def __init__(self, where: str, key: str, spec: Mapping[str, Any]) -> None:
        self.where, self.key, self.spec = where, key, spec

    def fail(self, field: str, why: str) -> ProfileError:
        return ProfileError(f"{self.where}: {self.key}.{field}: {why}")

    def get(self, field: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self.spec.get(field, default)
        # bool is an int in Python; a profile saying `scale = true` is a mistake, not 1.0.
        wrong_bool = isinstance(value, bool) and kind is not bool and bool not in _as_tuple(kind)
        if value is not None and (wrong_bool or not isinstance(value, kind)):
            raise self.fail(field, f"wrong type {type(value).__name__} {value!r}")
        return value

    def required(self, field: str, kind: type | tuple[type, ...]) -> Any:
        if field not in self.spec:
            raise self.fail(field, "missing (required)")
        return self.get(field, kind)

    def choice(self, field: str, allowed: tuple[str, ...], default: str) -> str:
        value = str(self.get(field, str, default))
        if value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def number(self, field: str, default: float | None = None) -> float | None:
        value = self.get(field, (int, float), default)
        return None if value is None else float(value)

    def positive(self, field: str, default: float) -> float:
        value = float(self.get(field, (int, float), default))
        if value <= 0:
            raise self.fail(field, f"must be > 0, got {value:g}")
        return value

    def labels(self, field: str = "labels") -> dict[int, str]:
        """`labels = { "0" = "off", "3" = "generating" }`: raw code -> word, for status points."""
        raw = self.get(field, dict, {})
        out: dict[int, str] = {}
        for code, word in raw.items():
            try:
                out[int(code, 0)] = str(word)
            except ValueError as exc:
                raise self.fail(f"{field}.{code}", "label keys must be integers") from exc
        return out


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)
