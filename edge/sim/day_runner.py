"""A day of a hub in virtual time: the plant, the pure power core and the trucks, no sockets.

Each control period, at `now`:

1. trucks due leave, trucks due arrive (a seeded random free bay of their connector; a
   truck that finds none is refused), scheduled faults and spikes happen;
2. the controller reads the node meters and the bays (fresh: the plant is read directly),
   computes each node's budget (`edge.power.budget`), allocates (`allocate` or a baseline
   from `edge.power.baselines`) and plans break-before-make writes
   (`edge.power.dispatch_plan`), which go straight to the plant's chargers;
3. the plant steps one period; the grid and feeder imports are checked against their
   limits.

An excess is *explained* when it is no more than what chargers still draw above their
setpoint (a ramp-down window, or a charger that does not follow) plus the change in base
load and generation since the controller last read the meters (what it could not have
seen). The result reports both, so a test can require the unexplained excess to be zero.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.clock import SimClock
from edge.power.allocation_model import AllocationInputs, BayInput, ChargerTuning
from edge.power.allocator import allocate
from edge.power.baselines import Policy
from edge.power.budget import (
    BayMeasurement,
    BudgetInputs,
    NodeBudget,
    NodeMeasurement,
    margin_w_of,
    node_budgets,
)
from edge.power.dispatch_plan import DispatchState, plan_dispatch
from edge.readings import Grade
from edge.sessions import Estimate, Session, SessionKind, Source
from edge.sim.plant import FaultMode, Plant, Weather
from edge.sim.traffic import Traffic, TruckResult
from edge.sim.trucks import Truck, TruckSpec
from edge.siteconf.model import SiteConfig


@dataclass(frozen=True, slots=True)
class ChargerFault:
    """From `at` (UTC epoch s) for `duration_s`, a charger ignores or lags its setpoints."""

    at: float
    charger: str
    mode: FaultMode
    duration_s: float
    lag_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Spike:
    """A base-load step of `extra_w` from `at` for `duration_s`."""

    at: float
    extra_w: float
    duration_s: float


Event = ChargerFault | Spike


@dataclass(frozen=True, slots=True)
class DayResult:
    trucks: tuple[TruckResult, ...]
    limit_w: float  # the grid connection's import limit
    peak_import_w: float
    seconds_above_limit: float  # grid or any feeder above its limit
    max_excess_w: float  # the largest import above a limit, any node
    max_unexplained_w: float  # ... beyond ramp-downs and what the controller could not see
    grid_import_wh: float
    grid_export_wh: float
    base_wh: float
    charging_wh: float
    solar_wh: float
    wind_wh: float
    sim_s: float
    wall_s: float

    def delivered_by_departure_wh(self) -> float:
        """Energy the trucks that left got, up to what each wanted."""
        return sum(min(t.delivered_wh, t.wanted_wh) for t in self.trucks if t.left and t.bay)

    def breaks_served(self) -> tuple[int, int]:
        """(break trucks that left served, break trucks that left)."""
        done = [t for t in self.trucks if t.kind is SessionKind.BREAK and t.left and t.bay]
        return sum(t.met for t in done), len(done)


@dataclass(slots=True)
class _Check:
    seconds_above: float = 0.0
    max_excess: float = 0.0
    max_unexplained: float = 0.0
    peak: float = float("-inf")


@dataclass(slots=True)
class DayRunner:
    site: SiteConfig
    trucks: Sequence[TruckSpec]
    start: float  # UTC epoch seconds
    duration_s: float
    period_s: float = 1.0
    policy: Policy = allocate
    weather: Weather = field(default_factory=Weather)
    events: Sequence[Event] = ()
    seed: int = 0
    clock: SimClock | None = None  # injected; by default one starting at `start`

    def run(self) -> DayResult:
        run = self.begin()
        while run.clock.wall() < run.end - 1e-9:
            run.advance()
        return run.result()

    def begin(self) -> Run:
        """A run to step period by period (the stateful tests drive it)."""
        clock = self.clock or SimClock(self.start)
        plant = Plant(
            self.site.limits,
            self.site.chargers,
            self.site.bays,
            self.site.timezone,
            clock.wall(),
            self.weather,
        )
        return Run(self, plant, clock)


class Run:
    """One run's mutable state: the controller's memory and the world's schedule."""

    def __init__(self, spec: DayRunner, plant: Plant, clock: SimClock) -> None:
        self.spec, self.plant, self.site, self.clock = spec, plant, spec.site, clock
        self.end = clock.wall() + spec.duration_s
        self._t0 = time.perf_counter()
        self.traffic = Traffic(plant, spec.trucks, spec.seed)
        self.events = sorted(spec.events, key=lambda e: e.at)
        self.state = DispatchState()
        self.last_base: dict[str, float] = {}
        self.last_stop: dict[str, float] = {}
        self.fault_until: dict[str, float] = {}
        self.tuning = ChargerTuning.of_site(self.site.chargers)
        self.margin_w = margin_w_of(self.site.control)
        self.metered = [n for n in self.site.limits if n.meter is not None]
        self.check = _Check()

    def advance(self) -> None:
        """One control period at the clock's time, then the clock moves on by a period."""
        self.period(self.clock.wall())
        self.clock.advance(self.spec.period_s)

    def inject(self, event: Event) -> None:
        """An event now, besides the scheduled ones."""
        self._apply(event)

    def arrive_now(self, spec: TruckSpec) -> None:
        self.traffic.arrive_now(spec, self.clock.wall())

    def leave_now(self, bay: str) -> None:
        self.traffic.leave_now(bay)

    @property
    def on_bay(self) -> dict[str, Truck]:
        return self.traffic.on_bay

    def period(self, now: float) -> None:
        self._world(now)
        measured = tuple(
            BayMeasurement(b, s.draw_w, Grade.FRESH) for b, s in self.plant.bays.items()
        )
        budgets = node_budgets(
            BudgetInputs(
                self.site.limits,
                self.site.chargers,
                self.site.bays,
                tuple(
                    NodeMeasurement(n.id, self.plant.node_w(n.id), Grade.FRESH)
                    for n in self.metered
                ),
                measured,
                tuple(self.last_base.items()),
                self.margin_w,
            )
        )
        self._remember_base(budgets)
        inputs = self._inputs(budgets, now)
        allocation = self.spec.policy(inputs, now)
        for bay in allocation.stops:
            self.last_stop[bay] = now
        applied = {b: s.limit_w for b, s in self.plant.bays.items()}  # as chargers report
        plan = plan_dispatch(
            inputs, allocation, self.state, measured, now, self.spec.period_s, applied
        )
        self.state = plan.state
        for w in plan.writes:
            self.plant.write(w.bay, w.power_w)
        seen = {n.id: self._exogenous(n.id) for n in self.site.limits}
        self.plant.step(self.spec.period_s)
        self._check(seen)

    def _remember_base(self, budgets: tuple[NodeBudget, ...]) -> None:
        for b in budgets:
            if b.base_w is not None:
                self.last_base[b.node] = b.base_w

    def _inputs(self, budgets: tuple[NodeBudget, ...], now: float) -> AllocationInputs:
        commanded = dict(self.state.commanded)
        bay_inputs = []
        for bay_id, sim in self.plant.bays.items():
            tr = sim.truck
            session = None
            if tr is not None:
                s = tr.spec
                session = Session(
                    bay_id,
                    s.arrive,
                    s.kind,
                    tr.delivered_wh,
                    Estimate(s.wanted_wh, Source.BOOKING),
                    Estimate(s.leave, Source.BOOKING),
                )
            bay_inputs.append(
                BayInput(
                    bay_id,
                    sim.state(),
                    session,
                    sim.draw_w,
                    tr.accepts_w() if tr is not None else None,
                    commanded.get(bay_id, 0.0),
                    self.last_stop.get(bay_id),
                )
            )
        return AllocationInputs(
            self.site.limits,
            self.site.chargers,
            self.site.bays,
            budgets,
            tuple(bay_inputs),
            self.tuning,
        )

    def _world(self, now: float) -> None:
        self.traffic.due(now)
        for charger, until in list(self.fault_until.items()):
            if until <= now:
                self.plant.faults.pop(charger, None)
                del self.fault_until[charger]
        while self.events and self.events[0].at <= now:
            self._apply(self.events.pop(0))

    def _apply(self, ev: Event) -> None:
        if isinstance(ev, Spike):
            self.plant.spike(ev.extra_w, ev.duration_s)
            return
        self.plant.faults[ev.charger] = (ev.mode, ev.lag_s)
        self.fault_until[ev.charger] = ev.at + ev.duration_s

    def _exogenous(self, node: str) -> float:
        return self.plant.node_w(node) - self.plant.node_charging_w(node)

    def _check(self, seen: dict[str, float]) -> None:
        c = self.check
        c.peak = max(c.peak, self.plant.grid_w())
        above = False
        for node in self.site.limits:
            excess = self.plant.node_w(node.id) - node.import_kw * 1e3
            if excess <= 0:
                continue
            above = True
            ramping = sum(
                max(0.0, self.plant.bays[b].draw_w - self.plant.bays[b].setpoint_w)
                for b in self.plant.under[node.id]
            )
            unseen = max(0.0, self._exogenous(node.id) - seen[node.id])
            c.max_excess = max(c.max_excess, excess)
            c.max_unexplained = max(c.max_unexplained, excess - ramping - unseen)
        if above:
            c.seconds_above += self.spec.period_s

    def result(self) -> DayResult:
        sim_s = self.clock.wall() - self.spec.start
        wall_s = time.perf_counter() - self._t0
        t, c = self.plant.totals, self.check
        root = next(n for n in self.site.limits if n.parent is None)
        return DayResult(
            self.traffic.final(),
            root.import_kw * 1e3,
            c.peak,
            c.seconds_above,
            c.max_excess,
            c.max_unexplained,
            t.grid_import_wh,
            t.grid_export_wh,
            t.base_wh,
            t.charging_wh,
            t.solar_wh,
            t.wind_wh,
            sim_s,
            wall_s,
        )
