"""The control cycle, like a PLC scan: read -> freeze a snapshot -> decide -> write -> queue.
Between periods, a fresh value of a limit node's meter triggers the fast path: decreases
only, written at once (`PowerController.react`), so a step in the grid meter is answered
within the meter's poll, not the next period.

Drivers keep the process image current on their own schedules; each cycle freezes it once,
so every decision in the cycle sees the same data. The decisions are pure functions from
edge/power; this module only wires them. A cycle that fails applies the safe output and
does not kick the watchdog: if cycles keep failing, systemd restarts the daemon.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from edge.clock import Clock
from edge.daemon_stats import CycleTimes
from edge.power.site_guard import GridInputs, SiteAssessment, assess_site
from edge.power_control import PowerController
from edge.power_report import PowerReport
from edge.process_image import ProcessImage
from edge.readings import Reading, Snapshot
from edge.sdnotify import Notifier
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)

ALIGN_WINDOW = 0.25  # of a period: how early or late a step may move to follow the meter


class CycleSink(Protocol):
    """Where each cycle's record goes for the cloud (the uplink's outbox)."""

    def offer(self, record: dict[str, Any]) -> None: ...


class NullSink:
    """Used while no uplink is configured: records are not kept."""

    def offer(self, record: dict[str, Any]) -> None:
        return None


@dataclass(frozen=True, slots=True)
class CycleResult:
    number: int
    at: float
    wall: float
    snapshot: Snapshot
    assessment: SiteAssessment
    duration_s: float
    power: PowerReport | None = None  # None on a site whose chargers nothing drives

    @property
    def mode(self) -> str:
        """The site's mode: the grid node's (normal, hold, fallback) once power is shared."""
        return (self.power.site_mode if self.power else self.assessment.mode).value

    @property
    def import_limit_w(self) -> float:
        """The grid limit in force: the grid node's (an override's) in normal and hold,
        its `fallback_kw` in fallback."""
        root = self.power.root if self.power is not None else None
        if root is None:
            return self.assessment.import_limit_w
        return float(root["available_w"] if root["mode"] == "fallback" else root["limit_w"])

    @property
    def headroom_w(self) -> float:
        """What more the chargers may draw now: none in hold (no increases) or fallback."""
        root = self.power.root if self.power is not None else None
        if root is None:
            return self.assessment.headroom_w
        return float(root["headroom_w"]) if root["mode"] == "normal" else 0.0

    @property
    def warnings(self) -> tuple[str, ...]:
        if self.power is None:
            return self.assessment.warnings
        # The budget's per-node line (mode, meter, age) replaces the guard's fallback line.
        guard = tuple(w for w in self.assessment.warnings if "; using fallback " not in w)
        return guard + self.power.warnings


def grid_inputs(config: SiteConfig, snapshot: Snapshot) -> GridInputs:
    """Pick, from the snapshot, what the site guard needs (grid import, generation)."""
    root = config.root_limit()
    reading = snapshot.reading(root.meter, "power_w") if root.meter else None
    generation = tuple(
        (d.id, snapshot.value(d.id, "power_w")) for d in config.devices if d.role in ("pv", "wind")
    )
    return GridInputs(
        limit_id=root.id,
        import_limit_w=root.import_kw * 1000.0,
        export_limit_w=None if root.export_kw is None else root.export_kw * 1000.0,
        fallback_w=root.fallback_kw * 1000.0,
        meter=root.meter,
        import_w=reading.value if reading is not None and reading.usable() else None,
        meter_quality=reading.quality.value if reading is not None else "no reading yet",
        generation_w=generation,
        meter_age_s=_good_age(reading, snapshot.taken_at),
    )


def _good_age(reading: Reading | None, now: float) -> float | None:
    good_at = reading.good_at if reading is not None else None
    return None if good_at is None else max(0.0, now - good_at)


class ControlCycle:
    def __init__(
        self,
        config: SiteConfig,
        image: ProcessImage,
        clock: Clock,
        notifier: Notifier,
        sink: CycleSink,
        summary: Callable[[CycleResult], str],
        safe_output: Callable[[], Awaitable[None]],
        power: PowerController | None = None,
    ) -> None:
        self._config = config
        self._image = image
        self._clock = clock
        self._notifier = notifier
        self._sink = sink
        self._summary = summary
        self._safe_output = safe_output
        self._power = power
        self.latest: CycleResult | None = None
        self.completed = 0
        self.failed = 0
        self.overruns = 0
        self.sink_failures = 0
        self.times = CycleTimes()
        self._busy = asyncio.Lock()  # a period's step and a fast decrease never interleave
        # Called with each completed cycle, after the sink (billing sessions: edge/site_billing.py).
        self.observers: list[Callable[[CycleResult], None]] = []

    async def run(self) -> None:
        reactions = asyncio.create_task(self._react()) if self._power is not None else None
        try:
            await self._periods()
        finally:
            if reactions is not None:
                reactions.cancel()
                await asyncio.gather(reactions, return_exceptions=True)

    async def _periods(self) -> None:
        """Every period; with power shared and a grid meter, right after the meter's fresh
        value that arrives within a quarter period of the period's time (the cadence then
        follows the meter's poll; none: at a quarter period late). A meter read just before
        the step sees the bays at what the last step wrote, not part way up the ramps it
        started, so the (safe, pessimistic) pairing of readings by time stops trimming and
        raising bays at the limit every period (docs/power.md, "Steps after the meter").
        The drivers read the grid meter last in each burst, after the chargers and the
        feeders' meters (edge/drivers/phase_lock.py): its value means every node's pair is
        in the process image."""
        period = self._config.control.period_s
        meter = self._config.root_limit().meter if self._power is not None else None
        polled = asyncio.Event()
        if meter is not None:
            self._image.watch(meter, polled.set)
        next_at = self._clock.monotonic()
        while True:
            await self.step()
            next_at += period
            now = self._clock.monotonic()
            if next_at < now:  # the cycle overran: skip, do not burst to catch up
                self.overruns += 1
                next_at = now + period
            if meter is None:
                await self._clock.sleep(next_at - now)
                continue
            await self._clock.sleep(next_at - period * ALIGN_WINDOW - now)
            polled.clear()
            await self._until(polled, 2 * period * ALIGN_WINDOW)
            next_at = self._clock.monotonic()

    async def _until(self, event: asyncio.Event, timeout_s: float) -> None:
        """Wait for `event`, at most `timeout_s` on the cycle's clock (virtual in tests)."""
        waiter = asyncio.ensure_future(event.wait())
        sleeper = asyncio.ensure_future(self._clock.sleep(timeout_s))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiter, sleeper):
                task.cancel()
            await asyncio.gather(waiter, sleeper, return_exceptions=True)

    async def _react(self) -> None:
        """The fast path: on every fresh value of a limit node's meter, write at once the
        decreases it calls for (`PowerController.react`), not at the next period. Updates
        coalesce (the latest value is what counts); it never runs beside a period's step."""
        assert self._power is not None
        fresh = asyncio.Event()
        for meter in {n.meter for n in self._config.limits if n.meter is not None}:
            self._image.watch(meter, fresh.set)
        failing = False
        while True:
            await fresh.wait()
            fresh.clear()
            async with self._busy:
                snapshot = self._image.freeze(self._clock.monotonic(), self._clock.wall())
                try:
                    await self._power.react(snapshot)
                    failing = False
                except Exception:  # the period's step still runs, and fails safe if it must
                    if not failing:
                        log.exception("fast_decrease_failed")
                    failing = True

    async def step(self) -> CycleResult | None:
        async with self._busy:
            return await self._step()

    async def _step(self) -> CycleResult | None:
        started = self._clock.monotonic()
        try:
            result = await self._decide(started)
        except Exception:
            self.failed += 1
            log.exception("cycle_failed cycle=%d", self.completed + 1)
            await self._safe_output()
            if self._power is not None:  # the safe state overwrote the setpoints
                self._power.forget()
            return None
        self.latest = result
        self.completed += 1
        # Bookkeeping for the cloud sits outside the decision: a fault there is the uplink's
        # to report, never a failed control cycle (it must not trip the safe state).
        try:
            self._sink.offer(cycle_record(self._config, result))
        except Exception:
            self.sink_failures += 1
            log.exception("cycle_record_not_queued cycle=%d", result.number)
        for observe in self.observers:  # like the sink: never a failed control cycle
            try:
                observe(result)
            except Exception:
                log.exception("cycle_observer_failed cycle=%d", result.number)
        self.times.add(self._clock.monotonic() - started)
        status = self._summary(result)
        if self.completed == 1:
            self._notifier.ready(status)
            log.info("ready first_cycle_s=%.3f", result.duration_s)
        else:
            self._notifier.watchdog(status)
        return result

    async def _decide(self, started: float) -> CycleResult:
        snapshot = self._image.freeze(started, self._clock.wall())
        assessment = assess_site(grid_inputs(self._config, snapshot))
        # Power sharing: budget -> allocate -> dispatch -> writes (decreases first).
        power = await self._power.step(snapshot) if self._power is not None else None
        return CycleResult(
            self.completed + 1,
            started,
            snapshot.wall,
            snapshot,
            assessment,
            self._clock.monotonic() - started,
            power,
        )


def cycle_record(config: SiteConfig, result: CycleResult) -> dict[str, Any]:
    a = result.assessment
    return {
        "site": config.site_id,
        "cycle": result.number,
        "ts": result.wall,
        "mode": result.mode,
        "import_w": a.import_w,
        "import_limit_w": result.import_limit_w,
        "headroom_w": result.headroom_w,
        "generation_w": a.generation_w,
        "warnings": list(result.warnings),
        "bays": list(result.power.bays) if result.power is not None else [],
    }
