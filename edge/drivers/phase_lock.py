"""Chargers read right before their node meters: one read burst per tick.

The budget takes a node's base load as its meter minus what the bays under it drew when the
meter was read (`edge/power/budget.py`, `BayMeasurement.drawn_at`), counting every error on
the safe side: a bay read before the meter at its reading, a bay read after it at the least
of its readings since the one before. When the chargers and the meters are polled at their
own phases, the plant moves between the two reads (a truck rises to the setpoint the last
step wrote), the meter sees the rise that the chargers' readings miss, and the base load
comes out high by it: bays at a limit were cut and raised again every few periods.

So the lock reads, each tick: first the chargers due (their fastest blocks: status and
power), all at once on their links; then the node meters due, deepest first (feeders), the
root's last. Every meter's reading then follows the chargers' by a few round trips, so a
bay read before the meter counts at what it drew then, exactly as far as the plant is still
within those round trips; the pairing's rule, and its proof, is unchanged. The root's meter
coming last also marks the burst's end for the control cycle, which steps right after it
(`ControlCycle._periods`). A member still reading after `wait_s` (a slow line, a silent
unit) does not hold up the next ones: it is skipped until its read ends, and a reading that
arrives after the meter's counts on the safe side, as before.

The tick is the fastest member's period; each member is read at the tick nearest its own
period, so the profiles' rates (and `devices[].poll_s`) still hold. Only polled Modbus
devices take part: a CAN cabinet's frames and an OCPP charge point's meter values arrive
when the charger sends them, and pair as before.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Sequence
from typing import Protocol

from edge.clock import Clock
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)


class LockedReader(Protocol):
    """A device whose fastest reads the lock runs (ModbusDevice is one)."""

    id: str

    @property
    def locked_period_s(self) -> float: ...

    async def read_locked(self) -> None:
        """One read of the locked blocks; device trouble is the device's, never raised."""


class PhaseLock:
    def __init__(
        self,
        chargers: Sequence[LockedReader],
        meters: Sequence[Sequence[LockedReader]],
        clock: Clock,
        wait_s: float | None = None,
    ) -> None:
        """`meters`: the node meters in the order they are read, one group per depth of the
        limit tree, the root's last."""
        self.stages: tuple[tuple[LockedReader, ...], ...] = (
            tuple(chargers),
            *(tuple(g) for g in meters if g),
        )
        members = [m for stage in self.stages for m in stage]
        self.period_s = min(m.locked_period_s for m in members)
        self.wait_s = self.period_s / 2 if wait_s is None else wait_s
        self._clock = clock
        self._due: dict[str, float] = {}
        self._reading: dict[str, asyncio.Future[None]] = {}
        self._failing: set[str] = set()

    async def run(self) -> None:
        """A burst every tick, forever; never bursts to catch up after a slow one."""
        next_at = self._clock.monotonic()
        try:
            while True:
                now = self._clock.monotonic()
                if next_at > now:
                    await self._clock.sleep(next_at - now)
                await self.burst(self._clock.monotonic())
                next_at = max(next_at + self.period_s, self._clock.monotonic())
        finally:
            for task in self._reading.values():
                task.cancel()
            await asyncio.gather(*self._reading.values(), return_exceptions=True)
            self._reading.clear()

    async def burst(self, now: float) -> None:
        """Each stage's members that are due, read together; the next stage after them."""
        for stage in self.stages:
            due = [m for m in stage if self._is_due(m, now)]
            await self._read_all(due, now)

    def _is_due(self, member: LockedReader, now: float) -> bool:
        """Due at the tick nearest its time; not while its previous read is still running."""
        if member.id in self._reading:
            return False
        return self._due.get(member.id, now) <= now + self.period_s / 2

    async def _read_all(self, members: list[LockedReader], now: float) -> None:
        """Start their reads and wait for them all, at most `wait_s` (bounded in count too:
        one wake-up per read at most)."""
        pending: set[asyncio.Future[None]] = set()
        for m in members:
            self._due[m.id] = max(self._due.get(m.id, now) + m.locked_period_s, now)
            task = asyncio.ensure_future(m.read_locked())
            self._reading[m.id] = task
            task.add_done_callback(functools.partial(self._ended, m.id))
            pending.add(task)
        if not pending:
            return
        timer = asyncio.ensure_future(self._clock.sleep(self.wait_s))
        try:
            for _ in range(len(pending)):
                done, _ = await asyncio.wait({*pending, timer}, return_when=asyncio.FIRST_COMPLETED)
                pending -= done
                if not pending or timer in done:
                    break
        finally:
            timer.cancel()

    def _ended(self, member: str, task: asyncio.Future[None]) -> None:
        """A read ended: the member may be read again; a crash is logged once (the device's
        own trouble never reaches here), and its values simply age."""
        if self._reading.get(member) is task:
            del self._reading[member]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and member not in self._failing:
            self._failing.add(member)
            log.error("locked_read_crashed device=%s error=%r", member, error, exc_info=error)
        elif error is None:
            self._failing.discard(member)


def phase_lock(config: SiteConfig, devices: Sequence[object], clock: Clock) -> PhaseLock | None:
    """The lock over the site's polled Modbus chargers and node meters (each node's meter
    read right after the chargers, the deepest nodes first, the root's last); None when
    either side has none. Locks those devices' fastest blocks: call before they run."""
    from edge.drivers.modbus_device import ModbusDevice  # noqa: PLC0415 (pymodbus when used)

    polled = {d.id: d for d in devices if isinstance(d, ModbusDevice)}
    chargers = list(dict.fromkeys(c.device for c in config.chargers if c.device in polled))
    by_depth: dict[int, list[str]] = {}
    for node in config.limits:
        meter = node.meter
        if meter is not None and meter in polled and meter not in chargers:
            by_depth.setdefault(_depth(config, node.id), []).append(meter)
    if not chargers or not by_depth:
        return None
    meters: list[str] = []
    stages: list[list[LockedReader]] = []
    for level in sorted(by_depth, reverse=True):  # the deepest first, the root's last
        stage = [m for m in dict.fromkeys(by_depth[level]) if m not in meters]
        stages.append([polled[m] for m in stage])
        meters += stage
    for device_id in chargers + meters:
        polled[device_id].lock()
    lock = PhaseLock([polled[c] for c in chargers], stages, clock)
    log.info("reads_phase_locked chargers=%s meters=%s", ",".join(chargers), ",".join(meters))
    return lock


def _depth(config: SiteConfig, node_id: str) -> int:
    parents = {n.id: n.parent for n in config.limits}
    depth, at = 0, parents.get(node_id)
    while at is not None and depth <= len(parents):  # bounded: the config check bars loops
        depth, at = depth + 1, parents.get(at)
    return depth
