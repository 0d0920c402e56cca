"""A day of a hub in virtual time: the plant, the pure power core and the trucks, no sockets.

Each control period, at `now`:

1. trucks due leave, trucks due arrive (without a gate: a seeded random free bay of their
   connector, else refused; with `gate=True`: the daemon's admission and assignment,
   `edge.sim.gate_queue`), scheduled faults happen (`edge.sim.events`);
2. the controller reads the node meters (through `MeterFaults`: silent or frozen meters are
   graded as the process image grades them) and the bays, computes each node's budget
   (`edge.power.budget`), allocates (`allocate` or a baseline from `edge.power.baselines`)
   and plans break-before-make writes (`edge.power.dispatch_plan`), which go straight to
   the plant's chargers;
3. export control decides the PV and wind inverters' limit from the grid meter and what the
   bays can still take (`edge.power.export.curtail`, through `edge.sim.export_sim`);
4. the plant steps one period; every limit node is checked against its limit
   (`edge.sim.limit_check`), the grid export against `export_kw`; records go to the outbox
   (`edge.sim.uplink_sim`).

What the controller knows of a truck (`knowledge`): "exact" (its true departure and energy,
as if every truck were booked and honest) or "site" (booked trucks: their booking; others:
the site's `[sessions]` defaults, `edge.power_inputs.default_session`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.access.bookings import booked_stay
from edge.clock import SimClock
from edge.power.allocation_model import AllocationInputs, BayInput, ChargerTuning
from edge.power.allocator import allocate
from edge.power.baselines import Policy
from edge.power.budget import BayMeasurement, BudgetInputs, NodeBudget, margin_w_of, node_budgets
from edge.power.dispatch_plan import DispatchState, plan_dispatch
from edge.power_inputs import default_session
from edge.power_planning import PlanWorker, default_solver, settings_of
from edge.readings import Grade
from edge.sessions import Estimate, Session, Source, with_booking, with_vehicle
from edge.sim.day_result import DayResult
from edge.sim.events import ChargerFault, Event, GridLimit, MeterFault, Spike, UplinkDown
from edge.sim.export_sim import ExportSim, bay_draws
from edge.sim.gate_queue import GateQueue
from edge.sim.limit_check import LimitCheck, exogenous_w
from edge.sim.meter_faults import MeterFaults
from edge.sim.plant import Plant, Weather
from edge.sim.series import Series
from edge.sim.traffic import Traffic
from edge.sim.trucks import Truck, TruckSpec
from edge.sim.uplink_sim import SimUplink
from edge.siteconf.model import SiteConfig

__all__ = ["ChargerFault", "DayResult", "DayRunner", "Event", "Run", "Spike"]


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
    knowledge: str = "exact"  # or "site": bookings and the [sessions] defaults
    gate: bool = False  # the daemon's admission and assignment at the entry
    patience_s: float = 900.0  # how long a truck refused for want of a bay waits
    uplink: bool = False  # records through the outbox store
    telemetry_s: float = 60.0  # a site telemetry record this often
    sample_s: float = 0.0  # > 0: keep a `Series` sampled this often

    def run(self) -> DayResult:
        run = self.begin()
        while run.clock.wall() < run.end - 1e-9:
            run.advance()
        return run.result()

    def begin(self) -> Run:
        """A run to step period by period (the stateful tests drive it)."""
        clock = self.clock or SimClock(self.start)
        s = self.site
        plant = Plant(s.limits, s.chargers, s.bays, s.timezone, clock.wall(), self.weather)
        return Run(self, plant, clock)


class Run:
    """One run's mutable state: the controller's memory and the world's schedule."""

    def __init__(self, spec: DayRunner, plant: Plant, clock: SimClock) -> None:
        self.spec, self.plant, self.site, self.clock = spec, plant, spec.site, clock
        self.end = clock.wall() + spec.duration_s
        self._t0 = time.perf_counter()
        gate = GateQueue(spec.site.bays, spec.trucks, spec.seed) if spec.gate else None
        if gate is not None:
            gate.patience_s = spec.patience_s
        self.traffic = Traffic(plant, spec.trucks, spec.seed, gate)
        self.events = sorted(spec.events, key=lambda e: e.at)
        self.state = DispatchState()
        self.last_base: dict[str, float] = {}
        self.last_stop: dict[str, float] = {}
        self.fault_until: dict[str, float] = {}
        self.limit_until: list[tuple[float, str, float]] = []  # (until, node, import_kw)
        self.tuning = ChargerTuning.of_site(self.site.chargers)
        self.margin_w = margin_w_of(self.site.control)
        self.metered = [n for n in self.site.limits if n.meter is not None]
        self.meters = MeterFaults(self.site.control.stale_after_s, self.site.control.lost_after_s)
        self.check = LimitCheck()
        self.export = ExportSim(self.site, plant)  # the export limit: curtail PV and wind
        self.uplink = SimUplink(self.site.site_id) if spec.uplink else None
        self.series = Series(spec.sample_s) if spec.sample_s > 0 else None
        self._next_telemetry = clock.wall()
        self._told = 0  # results already sent as events
        self.uplink_until = float("inf")
        self._defaults: dict[str, Session] = {}  # truck -> its [sessions] default
        # The plan (`control.plan_every_s` of the site file), made in line: deterministic.
        every_s = self.site.control.plan_every_s
        self.planner = (
            PlanWorker(settings_of(self.site), every_s, default_solver(), inline=True)
            if every_s > 0 and spec.policy is allocate
            else None
        )

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
        nodes = tuple(self.meters.measure(n.id, self.plant.node_w(n.id), now) for n in self.metered)
        s = self.site
        budgets = node_budgets(
            BudgetInputs(
                s.limits,
                s.chargers,
                s.bays,
                nodes,
                measured,
                tuple(self.last_base.items()),
                self.margin_w,
            )
        )
        self._remember_base(budgets)
        inputs = self._inputs(budgets, now)
        if self.planner is not None:
            inputs = dataclasses.replace(inputs, plan=self.planner.power_w(inputs, now))
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
        grid = next((m for m in nodes if m.node == self.export.root), None)
        self.export.period(self.plant, grid, bay_draws(self.plant, allocation), now)
        seen = {n.id: exogenous_w(self.plant, n.id) for n in self.site.limits}
        self.plant.step(self.spec.period_s)
        self.check.after_step(self.plant, self.site.limits, seen, self.spec.period_s)
        self.export.after_step(self.plant, self.spec.period_s)
        self._record(now)

    def _remember_base(self, budgets: tuple[NodeBudget, ...]) -> None:
        for b in budgets:
            if b.base_w is not None:
                self.last_base[b.node] = b.base_w

    def _session(self, bay_id: str, tr: Truck) -> Session:
        s = tr.spec
        booking = self.traffic.gate.bookings.get(f"bk-{s.id}") if self.traffic.gate else None
        if self.spec.knowledge == "exact":
            return Session(
                bay_id,
                s.arrive,
                s.kind,
                tr.delivered_wh,
                Estimate(s.wanted_wh, Source.BOOKING),
                Estimate(s.leave, Source.BOOKING),
            )
        default = self._defaults.get(s.id)
        if default is None or default.bay != bay_id:
            default = self._defaults[s.id] = default_session(self.site, bay_id, s.arrive)
        session = dataclasses.replace(default, energy_delivered_wh=tr.delivered_wh)
        if s.reports_needs:  # as track_sessions takes a charger's NotifyEVChargingNeeds
            session = with_vehicle(session, s.wanted_wh, s.leave)
        return session if booking is None else with_booking(session, booked_stay(booking))

    def _battery_wh(self, tr: Truck | None) -> float | None:
        if tr is None or not (self.spec.knowledge == "exact" or tr.spec.reports_needs):
            return None
        return tr.spec.battery_wh

    def _inputs(self, budgets: tuple[NodeBudget, ...], now: float) -> AllocationInputs:
        commanded = dict(self.state.commanded)
        bay_inputs = []
        for bay_id, sim in self.plant.bays.items():
            tr = sim.truck
            bay_inputs.append(
                BayInput(
                    bay_id,
                    sim.state(),
                    self._session(bay_id, tr) if tr is not None else None,
                    sim.draw_w,
                    tr.accepts_w() if tr is not None else None,
                    commanded.get(bay_id, 0.0),
                    self.last_stop.get(bay_id),
                    # the charger reports the state of charge (the plant's `ev_soc_pct`);
                    # the battery's size only a truck telling its needs does (ISO 15118)
                    100.0 * tr.soc if tr is not None else None,
                    self._battery_wh(tr),
                )
            )
        s = self.site
        return AllocationInputs(
            s.limits,
            s.chargers,
            s.bays,
            budgets,
            tuple(bay_inputs),
            self.tuning,
            period_s=self.spec.period_s,
        )

    def _world(self, now: float) -> None:
        self.traffic.due(now)
        for charger, until in list(self.fault_until.items()):
            if until <= now:
                self.plant.faults.pop(charger, None)
                del self.fault_until[charger]
        for until, node, kw in [x for x in self.limit_until if x[0] <= now]:
            self.limit_until.remove((until, node, kw))
            self._set_limit(node, kw)
        if self.uplink is not None and self.uplink_until <= now:
            self.uplink.up = True
        while self.events and self.events[0].at <= now:
            self._apply(self.events.pop(0))

    def _apply(self, ev: Event) -> None:
        if isinstance(ev, Spike):
            self.plant.spike(ev.extra_w, ev.duration_s)
        elif isinstance(ev, ChargerFault):
            self.plant.faults[ev.charger] = (ev.mode, ev.lag_s)
            self.fault_until[ev.charger] = ev.at + ev.duration_s
        elif isinstance(ev, MeterFault):
            self.meters.start(ev, self.plant.node_w(ev.node))
        elif isinstance(ev, UplinkDown):
            if self.uplink is not None:
                self.uplink.up = False
                self.uplink_until = ev.at + ev.duration_s
        elif isinstance(ev, GridLimit):
            old = next(n.import_kw for n in self.site.limits if n.id == ev.node)
            self.limit_until.append((ev.at + ev.duration_s, ev.node, old))
            self._set_limit(ev.node, ev.import_kw)

    def _set_limit(self, node: str, import_kw: float) -> None:
        limits = tuple(
            dataclasses.replace(n, import_kw=import_kw) if n.id == node else n
            for n in self.site.limits
        )
        self.site = dataclasses.replace(self.site, limits=limits)

    def _record(self, now: float) -> None:
        if self.series is not None:
            queue = len(self.traffic.gate.waiting) if self.traffic.gate else 0
            root = next(n for n in self.site.limits if n.parent is None)
            self.series.sample(self.plant, now, root.import_kw * 1e3, queue)
        up = self.uplink
        if up is None:
            return
        if now >= self._next_telemetry:
            self._next_telemetry = now + self.spec.telemetry_s
            p = self.plant
            up.produce(
                "telemetry/site",
                {"grid_w": p.grid_w(), "charging_w": p.charging_w(), "solar_w": p.solar_w},
                now,
            )
        for r in self.traffic.results[self._told :]:
            stream = "events/session" if r.bay else "events/admission"
            up.produce(stream, {"truck": r.id, "bay": r.bay, "reason": r.reason}, now)
        self._told = len(self.traffic.results)
        up.tick(self.spec.period_s)

    def result(self) -> DayResult:
        sim_s = self.clock.wall() - self.spec.start
        wall_s = time.perf_counter() - self._t0
        t, c = self.plant.totals, self.check
        root = next(n for n in self.spec.site.limits if n.parent is None)
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
            c.seconds_unexplained,
            self.uplink.result() if self.uplink is not None else None,
            self.series,
            t.curtailed_wh,
            self.export.limit_w,
            self.export.check,
        )
