"""Export control: the shell around `edge/power/export.py`. Each control period it reads the
grid meter, the curtailable PV and wind inverters and what the trucks can still take (the
power controller's latest bay rows), decides the curtailment (pure), and writes each
inverter's active power limit through its driver.

An inverter is curtailable when its driver can limit it: a SunSpec inverter (model 704
WMaxLimPct, else 123: `SunSpecDevice.curtail`) or a Modbus profile with a writable
`power_limit_pct` point (and, where the map needs one, a `power_limit_enabled` switch whose
`labels` name the `on` and `off` codes): profiles are data, no Python per model. Its rating
is `devices[].rated_kw`, else the `rated_power_w` it reports; while neither is known it is
not curtailed (it counts through the grid meter like any other generation).

Standing fallback: a SunSpec limit is always written with its reversion timer, reverting to
the site's safe level (the export limit as a share of the inverters' rating: export stays
within the limit with no load and no charging), refreshed well within the timer; released,
it is written as 100 % with that same reversion, so an inverter whose controller dies
falls to the safe level by itself. The safe state (a failed cycle, every stop) writes the
safe level at once. A failing write is logged once, retried next period, never stops the
loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from edge.clock import Clock, SystemClock
from edge.drivers.device_base import WriteFailed
from edge.power.budget import margin_w_of
from edge.power.export import (
    BayDraw,
    Curtailment,
    ExportInputs,
    Inverter,
    absorbable_w,
    curtail,
    hysteresis_w_of,
    safe_pct_of,
)
from edge.process_image import ProcessImage
from edge.readings import Grade, Snapshot
from edge.safe_state import SafeOutput, writable
from edge.siteconf.model import Device, SiteConfig

if TYPE_CHECKING:
    from edge.runtime import Daemon

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0  # one inverter's write and read-back, whatever the link does
PCT = "power_limit_pct"
ENABLE = "power_limit_enabled"
BayRows = Callable[[], Sequence[Mapping[str, Any]]]


class LimitsPower(Protocol):
    id: str

    async def limit_power(self, pct: float | None, safe_pct: float) -> None:
        """Limit output to `pct` % of rating (None: no limit); raises WriteFailed."""
        ...


class SunSpecLimit:
    def __init__(self, device: Any, revert_after_s: float) -> None:
        self.id, self.device, self.revert_after_s = device.id, device, revert_after_s

    async def limit_power(self, pct: float | None, safe_pct: float) -> None:
        limit = 100.0 if pct is None else pct  # standing, so that it reverts to the safe level
        await self.device.curtail(limit, self.revert_after_s, safe_pct)


class PointLimit:
    """A Modbus profile's `power_limit_pct`, and its `power_limit_enabled` switch if any."""

    def __init__(self, device: Any) -> None:
        self.id, self.device = device.id, device
        self.codes: dict[str, float] = {}
        if writable(device, ENABLE):
            labels = device.profile.point(ENABLE).labels
            self.codes = {word: float(code) for code, word in labels.items()}

    async def limit_power(self, pct: float | None, safe_pct: float) -> None:
        await self.device.write_point(PCT, 100.0 if pct is None else pct)
        if self.codes:
            await self.device.write_point(ENABLE, self.codes["off" if pct is None else "on"])


def limit_target(device: Any, revert_after_s: float) -> LimitsPower | None:
    if hasattr(device, "curtail"):
        return SunSpecLimit(device, revert_after_s)
    if writable(device, PCT):
        if writable(device, ENABLE) and {"on", "off"} - set(
            device.profile.point(ENABLE).labels.values()
        ):
            return None  # a switch whose codes the profile does not name: cannot drive it
        return PointLimit(device)
    return None


class ExportController:
    def __init__(
        self,
        config: SiteConfig,
        targets: Mapping[str, LimitsPower],  # device id -> how to limit it
        bays: BayRows,
        clock: Clock | None = None,
    ) -> None:
        root = config.root_limit()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.changed_at: float | None = None  # monotonic: when a new limit was last written
        if root.export_kw is None:
            raise ValueError(f"limits: the root {root.id!r} has no export_kw")
        self.config, self.targets, self.bays = config, dict(targets), bays
        self.devices: dict[str, Device] = {d.id: d for d in config.devices if d.id in targets}
        self.limit_w, self.meter = root.export_kw * 1000.0, root.meter
        self.margin_w = margin_w_of(config.control)
        self.hysteresis_w = hysteresis_w_of(self.limit_w)
        self.refresh_s = revert_after_s(config) / 3.0
        self.decision = Curtailment()
        self.safe_pct = self._safe_pct(self._config_ratings())
        self.written: dict[str, tuple[float | None, float, float]] = {}  # pct, safe, at
        self.failing: dict[str, str] = {}
        self.unrated: set[str] = set()  # targets whose rating is unknown: not curtailed

    def _config_ratings(self) -> dict[str, float]:
        return {i: d.rated_kw * 1000.0 for i, d in self.devices.items() if d.rated_kw}

    def _safe_pct(self, ratings: Mapping[str, float]) -> float:
        return safe_pct_of(self.limit_w, sum(ratings.values()))

    def ratings(self, snapshot: Snapshot) -> dict[str, float]:
        """Each target's rating: `rated_kw`, else the rating it reports (fresh or stale)."""
        out = self._config_ratings()
        for dev in self.devices:
            reported = snapshot.reading(dev, "rated_power_w")
            if dev not in out and reported is not None and reported.good_at is not None:
                out[dev] = float(reported.value or 0.0)
        return {k: v for k, v in out.items() if v > 0}

    def inputs(self, snapshot: Snapshot) -> ExportInputs:
        ratings = self.ratings(snapshot)
        self.safe_pct = self._safe_pct(ratings)
        for dev in set(self.targets) - set(ratings) - self.unrated:
            log.warning("export_inverter_unrated device=%s why=no rated_kw, none reported", dev)
        self.unrated = set(self.targets) - set(ratings)
        inverters = tuple(
            Inverter(dev, rated, _fresh(snapshot, dev, "power_w")) for dev, rated in ratings.items()
        )
        grade, export_w = Grade.LOST, None
        if self.meter is not None:
            r = snapshot.reading(self.meter, "power_w")
            grade = snapshot.grade(self.meter, "power_w")
            if r is not None and r.good_at is not None and r.value is not None:
                export_w = -r.value  # the meter reads import positive
        draws = (
            BayDraw(
                b["setpoint_w"],
                b["power_w"] if b["grade"] == "fresh" else None,
                b["binding"] == "vehicle",
            )
            for b in self.bays()
            if b.get("state") == "charging"
        )
        return ExportInputs(
            self.limit_w,
            self.margin_w,
            grade,
            export_w,
            inverters,
            absorbable_w(draws),
            self.decision,
            self.hysteresis_w,
        )

    def change_unseen(self, snapshot: Snapshot) -> bool:
        """A new limit was written after the grid meter's or an inverter's fresh reading: the
        readings straddle the change (the inverter already lower, the meter not yet, or the
        reverse), and pairing them would over-curtail, or raise the cap too far. Hold until
        each has been read again; a reading that is not renewed turns stale, and the pure
        decision's stale rules take over."""
        if self.changed_at is None:
            return False
        points = [self.meter, *self.devices] if self.meter is not None else [*self.devices]
        for dev in points:
            r = snapshot.reading(dev, "power_w")
            if r is not None and r.grade is Grade.FRESH and r.at <= self.changed_at:
                return True
        return False

    async def step(self, snapshot: Snapshot) -> Curtailment:
        if self.change_unseen(snapshot):
            return self.decision
        inputs = self.inputs(snapshot)
        decision = curtail(inputs)
        if (decision.pct, decision.reason) != (self.decision.pct, self.decision.reason):
            log.info(
                "export_curtailment pct=%s cap_kw=%s reason=%s export_kw=%s absorb_kw=%.0f",
                "-" if decision.pct is None else f"{decision.pct:g}",
                "-" if decision.cap_w is None else f"{decision.cap_w / 1000:.0f}",
                decision.reason,
                "-" if inputs.export_w is None else f"{inputs.export_w / 1000:.1f}",
                inputs.absorb_w / 1000,
            )
        changed = decision.pct != self.decision.pct
        self.decision = decision
        rated = [t for dev, t in self.targets.items() if dev not in self.unrated]
        await asyncio.gather(*(self._write(t, decision.pct, snapshot.taken_at) for t in rated))
        if changed:
            self.changed_at = self.clock.monotonic()  # once written: readings after it agree
        return decision

    async def _write(self, target: LimitsPower, pct: float | None, now: float) -> None:
        last = self.written.get(target.id)
        if last is not None and last[:2] == (pct, self.safe_pct) and now - last[2] < self.refresh_s:
            return
        try:
            async with asyncio.timeout(WRITE_TIMEOUT_S):
                await target.limit_power(pct, self.safe_pct)
        except (WriteFailed, TimeoutError) as exc:
            why = str(exc) or f"no outcome within {WRITE_TIMEOUT_S:g} s"
            if target.id not in self.failing:
                log.warning("inverter_limit_failed device=%s pct=%s error=%s", target.id, pct, why)
            self.failing[target.id] = why
            return
        if self.failing.pop(target.id, None) is not None:
            log.info("inverter_limit_written_again device=%s pct=%s", target.id, pct)
        self.written[target.id] = (pct, self.safe_pct, now)

    def status(self) -> dict[str, Any]:
        """The local API's `export` (`edge export`)."""
        d = self.decision
        return {
            "limit_w": self.limit_w,
            "target_w": self.limit_w - self.margin_w,
            "hysteresis_w": self.hysteresis_w,
            "curtailing": d.active,
            "pct": d.pct,
            "cap_w": d.cap_w,
            "reason": d.reason,
            "safe_pct": self.safe_pct,
            "inverters": [
                {
                    "id": dev,
                    "written": dev in self.written,
                    "written_pct": self.written[dev][0] if dev in self.written else None,
                    "rated": dev not in self.unrated,
                    "failing": self.failing.get(dev),
                }
                for dev in self.targets
            ],
        }

    def forget(self) -> None:
        """The safe state overwrote the limits: write every inverter again next period."""
        self.written.clear()

    async def run(self, image: ProcessImage, clock: Clock) -> None:
        period = self.config.control.period_s
        while True:
            try:
                await self.step(image.freeze(clock.monotonic(), clock.wall()))
            except Exception:  # a bug in one period must not end export control
                log.exception("export_step_failed")
            await clock.sleep(period)

    def safe_outputs(self) -> list[SafeOutput]:
        def apply(target: LimitsPower) -> Callable[[], Any]:
            async def go() -> None:
                self.forget()
                await target.limit_power(self.safe_pct, self.safe_pct)

            return go

        return [
            SafeOutput(f"inverter {t.id} -> safe export level", apply(t))
            for t in self.targets.values()
        ]


def _fresh(snapshot: Snapshot, device: str, point: str) -> float | None:
    r = snapshot.reading(device, point)
    if r is None or r.value is None or r.grade is not Grade.FRESH:
        return None
    return max(0.0, r.value)


def revert_after_s(config: SiteConfig) -> float:
    """The inverters' own reversion time: well beyond a missed period or two."""
    return max(30.0, 3.0 * config.control.lost_after_s)


def start_export(d: Daemon) -> ExportController | None:
    """Export control for a site whose grid connection has an `export_kw`, over the fleet's
    PV and wind inverters; its safe outputs join the daemon's. `export` on the local API
    says what runs, or why nothing does."""
    page: list[Callable[[], dict[str, Any]]] = [lambda: {"state": "disabled", "why": why}]
    d.api.register("export", lambda params: page[0]())
    why = "no export_kw on the grid connection"
    if d.config.root_limit().export_kw is None:
        return None
    targets = _targets(d)
    if not targets:
        why = "no curtailable pv or wind inverter"
        log.warning("export_limit_uncontrolled why=%s", why)
        return None

    def bays() -> Sequence[Mapping[str, Any]]:
        latest = d.cycle.latest if d.cycle is not None else None
        return latest.power.bays if latest is not None and latest.power is not None else ()

    ctl = ExportController(d.config, targets, bays, d.clock)
    page[0] = ctl.status
    d.safe_state_hooks += ctl.safe_outputs()
    d.supervisor.start("export", lambda: ctl.run(d.image, d.clock), vital=True)
    return ctl


def _targets(d: Daemon) -> dict[str, LimitsPower]:
    fleet = {dev.id: dev for dev in d.fleet.devices}
    targets: dict[str, LimitsPower] = {}
    for dev in d.config.devices:
        if dev.role in ("pv", "wind") and dev.id in fleet:
            target = limit_target(fleet[dev.id], revert_after_s(d.config))
            if target is None:
                log.warning(
                    "export_inverter_not_curtailable device=%s profile=%s", dev.id, dev.profile
                )
            else:
                targets[dev.id] = target
    return targets
