"""CAN message sets from DBC files, decoded and encoded with cantools. The one module that
imports cantools: a CAN device's DBC file is to CAN what a profile is to Modbus."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cantools
from cantools.database.can import Database, Message


class DbcError(Exception):
    """A DBC file cannot be read, or a frame or value does not fit it."""


@dataclass(frozen=True, slots=True)
class SignalInfo:
    name: str
    unit: str
    minimum: float | None
    maximum: float | None
    scale: float
    choices: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class MessageInfo:
    name: str
    frame_id: int
    extended: bool
    length: int
    cycle_time_s: float | None
    signals: Mapping[str, SignalInfo]


class MessageSet:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            db = cantools.database.load_file(str(path))
        except Exception as exc:  # cantools raises its own parse errors and OSError
            raise DbcError(f"{path.name}: cannot read DBC: {exc}") from exc
        if not isinstance(db, Database):
            raise DbcError(f"{path.name}: not a CAN message database")
        self._db: Database = db
        self.messages = {m.name: _info(m) for m in self._db.messages}
        self._by_id = {(m.frame_id, m.extended): m for m in self.messages.values()}

    def by_frame(self, frame_id: int, extended: bool) -> MessageInfo | None:
        return self._by_id.get((frame_id, extended))

    def decode(self, frame_id: int, data: bytes) -> dict[str, float]:
        """Signal values, scaled, enums as their numbers (names are for display)."""
        try:
            values = self._db.decode_message(frame_id, data, decode_choices=False)
            if not isinstance(values, dict):
                raise TypeError("container frames are not supported")
            return {name: _number(value) for name, value in values.items()}
        except Exception as exc:
            raise DbcError(
                f"{self.path.name}: frame 0x{frame_id:X} does not decode: {exc}"
            ) from exc

    def encode(self, message: str, signals: Mapping[str, float]) -> bytes:
        try:
            return bytes(self._db.encode_message(message, dict(signals)))
        except Exception as exc:
            raise DbcError(
                f"{self.path.name}: {message} {dict(signals)} does not encode: {exc}"
            ) from exc


def _number(value: object) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"{value!r} is not a number")


def _info(m: Message) -> MessageInfo:
    cycle = m.cycle_time / 1000.0 if m.cycle_time else None
    return MessageInfo(
        name=m.name,
        frame_id=m.frame_id,
        extended=bool(m.is_extended_frame),
        length=m.length,
        cycle_time_s=cycle,
        signals={
            s.name: SignalInfo(
                s.name,
                s.unit or "",
                None if s.minimum is None else float(s.minimum),
                None if s.maximum is None else float(s.maximum),
                float(s.scale),
                {int(k): str(v) for k, v in (s.choices or {}).items()},
            )
            for s in m.signals
        },
    )


@cache
def load(path: Path) -> MessageSet:
    return MessageSet(path)
