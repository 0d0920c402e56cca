"""CAN profiles: a DBC file (the message set) plus which signals are the device's points.

Received signals become readings; a point with `access = "w"` is a signal of the profile's
`[command]` message, which the driver sends every `period_s` with an alive counter, and its
`confirm` point is the signal in which the device reports the value it applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.drivers.dbc import DbcError, MessageSet, load
from edge.drivers.profile_common import (
    HEADER_KEYS,
    FieldReader,
    ProfileError,
    check_connector_names,
    connector_count,
    find_point,
    header,
    no_unknown,
    read_profile_file,
)


@dataclass(frozen=True, slots=True)
class CanPoint:
    name: str
    message: str
    signal: str
    scale: float  # engineering value = signal value * scale + offset
    offset: float
    unit: str
    min: float | None
    max: float | None
    counter: bool
    access: str  # r | w
    confirm: str | None
    ref: str
    labels: Mapping[int, str] = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        return self.access == "w"

    @property
    def polled(self) -> bool:
        return self.access == "r"


@dataclass(frozen=True, slots=True)
class Command:
    message: str
    period_s: float
    counter: str | None  # alive-counter signal, incremented mod its range on every send
    enable: str | None  # signal set to 1 while a command is active


@dataclass(frozen=True, slots=True)
class CanProfile:
    id: str
    kind: str
    vendor: str
    models: tuple[str, ...]
    datasheet: str
    points: tuple[CanPoint, ...]
    source: Path
    dbc: MessageSet
    timeout_s: float
    command: Command | None
    protocol: str = "can"
    connectors: int = 1  # connector n's points are named `connector_<n>_<name>` (n >= 2)

    def point(self, name: str) -> CanPoint:
        return find_point(self.id, self.points, name)


_KEYS = HEADER_KEYS | {"dbc", "timeout_s", "command", "connectors"}
_POINT_KEYS = {"message", "signal", "scale", "offset", "unit", "min", "max", "counter"}
_POINT_KEYS |= {"access", "confirm", "ref", "labels"}


def load_can_profile(path: Path, data: Mapping[str, Any] | None = None) -> CanProfile:
    where = path.name
    data = read_profile_file(path) if data is None else data
    head = header(path, data)
    no_unknown(where, "", data, _KEYS)
    top = FieldReader(where, "(profile)", data)
    dbc_name = top.required("dbc", str)
    try:
        messages = load((path.parent / dbc_name).resolve())
    except DbcError as exc:
        raise ProfileError(f"{where}: dbc: {exc}") from exc
    command = _command(where, data.get("command"), messages)
    points = tuple(_point(where, n, s, messages) for n, s in data["points"].items())
    _check(where, points, command)
    count = connector_count(where, data)
    no_unknown(where, "connectors.", data.get("connectors", {}), {"count"})
    check_connector_names(where, (p.name for p in points), count)
    return CanProfile(
        id=head.id,
        kind=head.kind,
        vendor=head.vendor,
        models=head.models,
        datasheet=head.datasheet or dbc_name,
        points=points,
        source=path,
        dbc=messages,
        timeout_s=FieldReader(where, "timeout_s", data).positive("timeout_s", 1.0),
        command=command,
        connectors=count,
    )


def _command(where: str, raw: Any, messages: MessageSet) -> Command | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ProfileError(f"{where}: command: must be a table")
    no_unknown(where, "command.", raw, {"message", "period_s", "counter", "enable"})
    f = FieldReader(where, "command", raw)
    message = f.required("message", str)
    if message not in messages.messages:
        raise f.fail("message", f"{message!r} is not in {messages.path.name}")
    signals = messages.messages[message].signals
    for key in ("counter", "enable"):
        name = f.get(key, str)
        if name is not None and name not in signals:
            raise f.fail(key, f"{name!r} is not a signal of {message}")
    return Command(
        message, f.positive("period_s", 0.1), f.get("counter", str), f.get("enable", str)
    )


def _point(where: str, name: str, spec: dict[str, Any], messages: MessageSet) -> CanPoint:
    key = f"points.{name}"
    no_unknown(where, key + ".", spec, _POINT_KEYS)
    f = FieldReader(where, key, spec)
    message = f.required("message", str)
    if message not in messages.messages:
        raise f.fail("message", f"{message!r} is not in {messages.path.name}")
    signal = f.required("signal", str)
    info = messages.messages[message].signals.get(signal)
    if info is None:
        raise f.fail("signal", f"{signal!r} is not a signal of {message}")
    scale = float(f.get("scale", (int, float), 1.0))
    if scale == 0:
        raise f.fail("scale", "must not be 0")
    return CanPoint(
        name=name,
        message=message,
        signal=signal,
        scale=scale,
        offset=float(f.get("offset", (int, float), 0.0)),
        unit=str(f.get("unit", str, info.unit)),
        min=f.number("min"),
        max=f.number("max"),
        counter=bool(f.get("counter", bool, False)),
        access=f.choice("access", ("r", "w"), "r"),
        confirm=f.get("confirm", str),
        ref=str(f.get("ref", str, f"{message}.{signal}")),
        labels=f.labels() or dict(info.choices),
    )


def _check(where: str, points: tuple[CanPoint, ...], command: Command | None) -> None:
    by_name = {p.name: p for p in points}
    for p in points:
        if p.writable and (command is None or p.message != command.message):
            raise ProfileError(
                f"{where}: points.{p.name}.message: written points must be signals of the "
                "[command] message"
            )
        if p.confirm is not None:
            target = by_name.get(p.confirm)
            if not p.writable:
                raise ProfileError(f"{where}: points.{p.name}.confirm: only written points confirm")
            if target is None or not target.polled:
                raise ProfileError(
                    f"{where}: points.{p.name}.confirm: {p.confirm!r} is not a received point"
                )
