"""A CAN link: one channel shared by every device on it, and its policy.

It opens the channel (and reopens it after a failure, with backoff), hands each received
frame to the devices that subscribed to its id, and sends for them with a timeout. A frame
nobody subscribed to, or one that does not decode, is counted and dropped; it never stops
the link.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from edge.clock import Clock
from edge.drivers.can_bus import CanBus, CanBusError, Frame

log = logging.getLogger(__name__)

Subscriber = Callable[[Frame], None]


@dataclass(slots=True)
class CanStats:
    frames_in: int = 0
    frames_out: int = 0
    unknown_frames: int = 0
    send_failures: int = 0
    reopens: int = 0


class CanLink:
    framing = None  # no baud-rate capacity model for CAN (the bus is ~30x faster than needed)

    def __init__(
        self,
        link_id: str,
        bus: CanBus,
        clock: Clock,
        *,
        reopen_s: float = 1.0,
        max_reopen_s: float = 30.0,
    ) -> None:
        self.id = link_id
        self.bus = bus
        self._clock = clock
        self._reopen_s, self._max_reopen_s = reopen_s, max_reopen_s
        self._subscribers: dict[tuple[int, bool], list[Subscriber]] = defaultdict(list)
        self.stats = CanStats()
        self.connected = False

    def describe(self) -> str:
        return self.bus.describe()

    def counters(self) -> dict[str, int]:
        frames = self.stats.frames_in + self.stats.frames_out
        return {"requests": frames, "reconnects": self.stats.reopens}

    def subscribe(self, frame_id: int, extended: bool, subscriber: Subscriber) -> None:
        self._subscribers[(frame_id, extended)].append(subscriber)

    async def send(self, frame_id: int, extended: bool, data: bytes) -> None:
        """Raises CanBusError when the channel is down or the frame cannot go out."""
        if not self.connected:
            raise CanBusError(f"link {self.id} is down ({self.describe()})")
        try:
            await self.bus.send(frame_id, data, extended)
        except CanBusError:
            self.stats.send_failures += 1
            raise
        self.stats.frames_out += 1

    async def run(self) -> None:
        """Keep the channel open and dispatch frames, forever."""
        delay = self._reopen_s
        try:
            while True:
                try:
                    await self.bus.open()
                except CanBusError as exc:
                    log.warning(
                        "can_open_failed link=%s error=%s retry_s=%.1f", self.id, exc, delay
                    )
                    await self._clock.sleep(delay)
                    delay = min(self._max_reopen_s, delay * 2)
                    continue
                delay = self._reopen_s
                self.connected = True
                log.info("can_link_up link=%s channel=%s", self.id, self.describe())
                try:
                    await self._dispatch()
                except CanBusError as exc:
                    log.warning("can_link_down link=%s error=%s", self.id, exc)
                finally:
                    self.connected = False
                    await self.bus.close()
                self.stats.reopens += 1
                await self._clock.sleep(delay)
        finally:
            await self.bus.close()

    async def _dispatch(self) -> None:
        while True:
            frame = await self.bus.recv()
            self.stats.frames_in += 1
            subscribers = self._subscribers.get((frame.arbitration_id, frame.extended))
            if not subscribers:
                self.stats.unknown_frames += 1
                continue
            for subscriber in subscribers:
                subscriber(frame)

    def utilisation(self) -> float:
        return 0.0
