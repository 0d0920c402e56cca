"""Structured logging: one event per line, `key=value` context, a level per area.

Call sites use stdlib logging with lazy `%s` arguments and put context in the message as
`key=value` pairs (`"device_silent device=%s after_s=%.1f"`). This module only decides the
line format and the levels, so journald, a terminal and a test all read the same events.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Mapping

LEVELS = ("debug", "info", "warning", "error", "critical")


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
        return " ".join(parts)


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
    quiet = {"pymodbus": logging.CRITICAL, "asyncio": logging.WARNING, "can": logging.WARNING}
    for noisy, noisy_level in quiet.items():
        if noisy not in (areas or {}):
            logging.getLogger(noisy).setLevel(noisy_level)


def set_area_level(area: str, level: str) -> None:
    """Change one area's level at run time (CLI/cloud `set-log-level`)."""
    if level.lower() not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    logging.getLogger(area or None).setLevel(level.upper())
