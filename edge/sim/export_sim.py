"""Export curtailment in the day runner: the daemon's decision, driven each period as
`edge/export_control.py` drives it, against the plant's simulated inverters
(`edge/sim/inverter.py`); and the export check (`docs/scenarios.md`, "Export limit").

Each period, after the power controller's writes: the grid meter as the controller sees it
(`MeterFaults`: fresh, stale or lost), each inverter's rating and output, and what the
charging bays will still take (`absorbable_w`: setpoint above draw, unless the truck itself
binds) go into `edge.power.export.curtail`; the decision is written to every inverter as
the shell writes it (on a change, and refreshed every third of the reversion time, with the
safe level as the reversion level: `revert_after_s`, `safe_pct_of`).

The check: after each step, export above `export_kw` is *explained* when it is no more
than what the decision's model ("inverters give what is offered up to their limit; the
trucks take what they said") missed within that period: generation that rose where the cap
allowed, base load that fell, and charging short of what the bays said they would take.
That is the reaction window: one control period, the controller sees the change at its next
meter read and curtails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge.export_control import revert_after_s
from edge.power.allocation_model import Allocation
from edge.power.budget import NodeMeasurement, margin_w_of
from edge.power.dispatch_plan import HYSTERESIS_W
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
from edge.readings import Grade
from edge.sessions import BayState
from edge.sim.plant import Plant
from edge.siteconf.model import SiteConfig


@dataclass(slots=True)
class ExportCheck:
    """Export against the limit after each step (W, s)."""

    peak_w: float = 0.0  # the largest export seen
    seconds_above: float = 0.0
    max_excess_w: float = 0.0
    max_unexplained_w: float = 0.0
    seconds_unexplained: float = 0.0


@dataclass(frozen=True, slots=True)
class _Seen:
    """The plant as the decision saw it, to tell what changed within the step."""

    generation_w: float
    base_w: float
    charging_w: float
    absorb_w: float


class ExportSim:
    def __init__(self, site: SiteConfig, plant: Plant) -> None:
        root = site.root_limit()
        self.limit_w = None if root.export_kw is None else root.export_kw * 1e3
        self.root = root.id
        self.margin_w = margin_w_of(site.control)
        self.hysteresis_w = hysteresis_w_of(self.limit_w or 0.0)
        self.revert_s = revert_after_s(site)
        self.ratings = {i: inv.rated_w for i, inv in plant.inverters.items()}
        self.safe_pct = safe_pct_of(self.limit_w or 0.0, sum(self.ratings.values()))
        self.decision = Curtailment()
        self.written: dict[str, tuple[float | None, float]] = {}  # inverter -> (pct, at)
        self.writes = 0
        self.check = ExportCheck()
        self._seen: _Seen | None = None

    @property
    def active(self) -> bool:
        return self.limit_w is not None and bool(self.ratings)

    def period(
        self, plant: Plant, meter: NodeMeasurement | None, bays: Iterable[BayDraw], now: float
    ) -> Curtailment:
        """Decide from what the controller sees now and write the inverters."""
        if self.limit_w is None or not self.ratings:
            return self.decision
        export_w = None if meter is None or meter.power_w is None else -meter.power_w
        grade = Grade.LOST if meter is None else meter.grade
        outputs = {"pv": plant.solar_w, "wind": plant.wind_w}
        absorb = absorbable_w(bays)
        inputs = ExportInputs(
            self.limit_w,
            self.margin_w,
            grade,
            export_w,
            tuple(Inverter(i, r, outputs[i]) for i, r in self.ratings.items()),
            absorb,
            self.decision,
            self.hysteresis_w,
        )
        self.decision = curtail(inputs)
        for inv in plant.inverters.values():
            self._write(inv.id, plant, self.decision.pct, now)
        generation = plant.solar_w + plant.wind_w
        self._seen = _Seen(generation, plant.base_w, plant.charging_w(), absorb)
        return self.decision

    def _write(self, inverter: str, plant: Plant, pct: float | None, now: float) -> None:
        last = self.written.get(inverter)
        if last is not None and last[0] == pct and now - last[1] < self.revert_s / 3.0:
            return
        limit = 100.0 if pct is None else pct  # standing: released is 100 % with the timer
        plant.inverters[inverter].write(limit, self.revert_s, self.safe_pct, now)
        self.written[inverter] = (pct, now)
        self.writes += 1

    def after_step(self, plant: Plant, period_s: float) -> None:
        """Export after the step against the limit, explained or not."""
        c = self.check
        export = -plant.grid_w()
        c.peak_w = max(c.peak_w, export)
        seen = self._seen
        if self.limit_w is None or seen is None or export <= self.limit_w:
            return
        excess = export - self.limit_w
        missed = (
            max(0.0, plant.solar_w + plant.wind_w - seen.generation_w)
            + max(0.0, seen.base_w - plant.base_w)
            + max(0.0, seen.charging_w + seen.absorb_w - plant.charging_w())
        )
        rest = excess - missed
        c.seconds_above += period_s
        c.max_excess_w = max(c.max_excess_w, excess)
        c.max_unexplained_w = max(c.max_unexplained_w, rest)
        if rest > 1.0:
            c.seconds_unexplained += period_s


def bay_draws(plant: Plant, allocation: Allocation) -> list[BayDraw]:
    """The charging bays as the daemon's bay rows give them to export control: the setpoint
    written, the draw, and whether the truck binds (`vehicle`, and the setpoint has caught
    up with the allocation: else a ramp binds, `edge/power_report.py`)."""
    by_bay = {s.bay: s for s in allocation.setpoints}
    out = []
    for bay, sim in plant.bays.items():
        if sim.state() is not BayState.CHARGING:
            continue
        sp = by_bay.get(bay)
        bound = (
            sp is not None
            and sp.binding == "vehicle"
            and sim.setpoint_w >= sp.power_w - HYSTERESIS_W
        )
        out.append(BayDraw(sim.setpoint_w, sim.draw_w, bound))
    return out
