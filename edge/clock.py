"""Injectable clocks.

Everything that needs the time takes a `Clock`, so simulations can run a day in seconds and
tests can step time instead of sleeping. Pure code (edge/power, edge/access) never sees a
Clock: it is handed `now` as a plain float.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    """A source of time and of waiting."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; for ages, periods and timeouts."""
        ...

    def wall(self) -> float:
        """UTC seconds since the epoch; for timestamps that leave the process."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class SimClock:
    """A virtual clock for simulations: `sleep` returns when `advance` passes its deadline.

    `run_until_idle`-style drivers call `advance_to_next()` to jump straight to the next
    sleeper, so a day of 1 s control cycles costs only the work, not the waiting.
    """

    def __init__(self, start_wall: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._now = 0.0
        self._wall0 = start_wall
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def monotonic(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall0 + self._now

    async def sleep(self, seconds: float) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._seq), fut))
        await fut

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self._now += max(0.0, seconds)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                fut.set_result(None)

    def next_deadline(self) -> float | None:
        """The earliest pending wake-up, or None when nobody sleeps."""
        return self._sleepers[0][0] if self._sleepers else None

    def advance_to_next(self) -> bool:
        """Jump to the earliest sleeper's deadline; False when nobody sleeps."""
        deadline = self.next_deadline()
        if deadline is None:
            return False
        self.advance(deadline - self._now)
        return True
