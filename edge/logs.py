"""Structured logging: one event per line, `key=value` context, a level per area.

Call sites use stdlib logging with lazy `%s` arguments and put context in the message as
`key=value` pairs (`"device_silent device=%s after_s=%.1f"`). This module only decides the
line format and the levels, so journald, a terminal and a test all read the same events.
Control characters are escaped here, whatever their source, so no caller can forge a line.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path

LEVELS = ("debug", "info", "warning", "error", "critical")
# The daemon's areas: its packages and the libraries it quietens. Each module logger under
# `edge.` (getLogger(__name__)) is an area too; a request never creates a logger.
AREAS = (
    "root",
    "edge",
    "edge.auth",
    "edge.availability_owner",
    "edge.billing",
    "edge.bookings_journal",
    "edge.bookings_owner",
    "edge.bookings_relay",
    "edge.chargers",
    "edge.control_cycle",
    "edge.drivers",
    "edge.export_control",
    "edge.gates",
    "edge.instance_lock",
    "edge.local_api",
    "edge.ocpp",
    "edge.operator_limits",
    "edge.power_control",
    "edge.power_planning",
    "edge.runtime",
    "edge.safe_state",
    "edge.sdnotify",
    "edge.sim",
    "edge.store",
    "edge.supervisor",
    "edge.uplink",
    "asyncio",
    "can",
    "pymodbus",
    "websockets",
)
# websockets logs each handshake at INFO; edge.ocpp logs the ones that matter, with the charger.
QUIET = {"pymodbus": logging.CRITICAL, "asyncio": logging.WARNING, "can": logging.WARNING}
QUIET["websockets"] = logging.WARNING
# C0, DEL, C1 and the Unicode line and paragraph separators: all can end or fake a line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


class LogSettingError(ValueError):
    """A set-log-level request with an unknown area or level, or a value of the wrong type."""


def escape_controls(text: str) -> str:
    """`\\n`, `\\r`, `\\t` and `\\xNN`/`\\uNNNN` for every other control character."""
    if _CONTROL.search(text) is None:
        return text  # the usual case, kept cheap
    return _CONTROL.sub(lambda m: _NAMED.get(m[0]) or _hex(m[0]), text)


def _hex(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


class KeyValueFormatter(logging.Formatter):
    """`level=info area=edge.runtime msg...` on one line; tracebacks folded into that line.

    Under systemd (`journal=True`) the timestamp is left out, since journald adds its own.
    """

    def __init__(self, *, journal: bool) -> None:
        super().__init__()
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        parts = []
        if not self._journal:
            parts.append(f"ts={self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}")
        parts.append(f"level={record.levelname.lower()}")
        parts.append(f"area={record.name}")
        parts.append(record.getMessage())
        if record.exc_info:
            # One event stays one line, so grep and journald keep the traceback with it.
            tb = "".join(traceback.format_exception(*record.exc_info)).rstrip()
            parts.append("traceback=" + repr(tb))
        return escape_controls(" ".join(parts))


def under_journald() -> bool:
    """True when stderr is connected to the journal (systemd sets JOURNAL_STREAM)."""
    return "JOURNAL_STREAM" in os.environ


def setup_logging(level: str = "info", areas: Mapping[str, str] | None = None) -> None:
    """Configure the root logger once for the daemon or the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(journal=under_journald()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for area, area_level in (areas or {}).items():
        logging.getLogger(area).setLevel(area_level.upper())
    # Library chatter is only interesting when asked for. pymodbus logs an ERROR for every
    # timeout; the drivers log each device's transitions instead (one line down, one up).
    for noisy, noisy_level in QUIET.items():
        if noisy not in (areas or {}):
            logging.getLogger(noisy).setLevel(noisy_level)


def is_daemon_area(name: str) -> bool:
    """One of AREAS or a module or package of `edge`: a finite set known without importing
    anything, so a caller can name a module not loaded yet and never make up a logger."""
    return name in AREAS or name in _edge_modules()


@functools.cache
def _edge_modules() -> frozenset[str]:
    package = Path(__file__).resolve().parent
    names = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return frozenset(names)


def known_areas() -> list[str]:
    """AREAS and every module of the daemon's code under `edge.`."""
    return sorted(set(AREAS) | _edge_modules())


def set_area_level(area: object, level: object) -> tuple[str, str]:
    """Change one area's level at run time (CLI/cloud `set-log-level`); returns the area and
    level set. Raises LogSettingError, naming what is allowed, and creates no logger."""
    if area is None or area == "":
        area = "root"
    if not isinstance(area, str):
        raise LogSettingError(f"log area must be a string, got {type(area).__name__}")
    if not isinstance(level, str) or level.lower() not in LEVELS:
        if not isinstance(level, str | None):
            raise LogSettingError(f"log level must be a string, got {type(level).__name__}")
        shown = "missing" if level is None else repr(level[:40])
        raise LogSettingError(f"log level {shown} is not one of {', '.join(LEVELS)}")
    if not is_daemon_area(area):
        raise LogSettingError(
            f"log area {area[:80]!r} is not one of the daemon's areas "
            f"({', '.join(AREAS)}, or an edge module that logs)"
        )
    logging.getLogger(None if area == "root" else area).setLevel(level.upper())
    return area, level.lower()
