"""What the message handlers of one charge point share: its record, the image writer, the
authorization and session ports, the clock and the link's settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.clock import Clock
from edge.ocpp.hooks import Authorizes, TracksSessions
from edge.ocpp.settings import OcppSettings
from edge.ocpp.station import Station, StationImage

log = logging.getLogger(__name__)


def iso(wall: float) -> str:
    """OCPP's dateTime: UTC, with a Z."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text: str | None, default: float) -> float:
    if not text:
        return default
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default


@dataclass
class Context:
    station: Station
    image: StationImage
    auth: Authorizes
    sessions: TracksSessions
    clock: Clock
    settings: OcppSettings
    next_tx: Callable[[], int]
    on_boot: Callable[[], Coroutine[Any, Any, None]]
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def spawn(self, job: Coroutine[Any, Any, None]) -> None:
        """A job after an answer (the standing profiles after a boot), kept referenced."""
        task = asyncio.get_running_loop().create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def bay(self, connector: int) -> str | None:
        return self.station.bays.get(connector)

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()
