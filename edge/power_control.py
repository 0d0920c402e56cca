"""The power controller: the imperative shell around the pure core in `edge/power/`.

Each control period, from the cycle's frozen snapshot: gather the inputs
(`edge/power_inputs.py`), then budget -> allocate -> plan the dispatch (all pure), then write
through the charger port: every decrease first, in one call, then the increases. Between
periods, `react` writes at once the decreases a node meter's fresh value calls for. It keeps
between periods only plain state: the dispatch ledger, each node's last base load, when it
last stopped each session, and the sessions.

A write that fails is retried next period (its bay keeps its old commanded value, so the
plan asks for it again), counted, and logged once when a bay starts and once when it stops
failing; it never stops the loop. After the safe state was applied (a failed cycle) the
commanded values are unknown: `forget()` makes the next period start from what the
chargers report, or their fallback share.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from edge.chargers.port import ApplyResult, BayStatus, BayWrite, ChargerPort
from edge.power.allocation_model import (
    Allocation,
    AllocationInputs,
    BayInput,
    ChargerTuning,
)
from edge.power.allocator import allocate
from edge.power.budget import (
    BudgetInputs,
    LimitOverride,
    NodeBudget,
    NodeMode,
    bays_under,
    margin_w_of,
    node_budgets,
)
from edge.power.dispatch_plan import (
    HYSTERESIS_W,
    DispatchPlan,
    DispatchState,
    plan_dispatch,
    unproven_raises,
)
from edge.power_inputs import (
    bay_measurements,
    node_measurements,
    paired_meters,
    remember_meters,
    remember_readings,
    track_sessions,
)
from edge.power_planning import PlanWorker
from edge.power_report import PowerReport, build_report
from edge.readings import Grade, Snapshot
from edge.sessions import BayState, BookedStay, Session
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)

OutOfService = Callable[[], frozenset[str]]  # bay and charger ids out of service now
Overrides = Callable[[], tuple[LimitOverride, ...]]
BookedBays = Callable[[], Mapping[str, BookedStay]]  # site access: booked trucks, by bay


def _none() -> tuple[LimitOverride, ...]:
    return ()


def _nothing_out() -> frozenset[str]:
    return frozenset()


def _no_bookings() -> Mapping[str, BookedStay]:
    return {}


@dataclass(frozen=True, slots=True)
class _Period:
    budgets: tuple[NodeBudget, ...]
    inputs: AllocationInputs
    allocation: Allocation
    plan: DispatchPlan


class PowerController:
    def __init__(
        self,
        config: SiteConfig,
        port: ChargerPort,
        *,
        out_of_service: OutOfService = _nothing_out,
        overrides: Overrides = _none,
        booked: BookedBays = _no_bookings,
        planner: PlanWorker | None = None,
    ) -> None:
        self.config = config
        self.port = port
        self._booked = booked
        self.planner = planner  # the plan (`control.plan_every_s`), None without one
        self._out_of_service = out_of_service
        self._overrides = overrides  # operator limits (`edge limit set`): none yet
        self._tuning = ChargerTuning.of_site(config.chargers)
        self._margin_w = margin_w_of(config.control)
        self._under = bays_under(config.limits, config.chargers, config.bays)
        self.dispatch: DispatchState | None = None  # None: commanded values unknown
        self.sessions: dict[str, Session] = {}
        self._last_base: dict[str, float] = {}
        self._last_stop: dict[str, float] = {}
        self._last_wall: float | None = None
        self._readings: dict[str, tuple[tuple[float, float], ...]] = {}  # bay -> (at, W)
        self._meters: dict[str, tuple[tuple[float, float], ...]] = {}  # node -> (at, W)
        self.failing: dict[str, str] = {}  # bay -> why its last write failed
        self.observed: dict[str, BayState] = {}  # bay -> state, from fresh charger reports
        self.statuses: tuple[BayStatus, ...] = ()  # the last period's, read once (billing)
        self.write_failures = 0
        self.writes = 0

    def forget(self) -> None:
        """The safe state overwrote the setpoints: start again from what chargers report."""
        self.dispatch = None

    async def step(self, snapshot: Snapshot) -> PowerReport:
        self.statuses = self.port.states(snapshot)
        statuses = {s.bay: s for s in self.statuses}
        self.observed = {b: s.state for b, s in statuses.items() if s.grade is Grade.FRESH}
        dt = 0.0 if self._last_wall is None else max(0.0, snapshot.wall - self._last_wall)
        self._last_wall = snapshot.wall
        self.sessions = track_sessions(
            self.config, statuses, self.sessions, snapshot.wall, dt, self._booked()
        )
        if self.dispatch is None:
            self.dispatch = DispatchState(tuple(self._initial_commanded(statuses).items()))
        period = self._decide(snapshot, statuses, self.dispatch)
        self._remember(snapshot, statuses)
        result = await self._write(period.plan, dict(self.dispatch.commanded))
        self.dispatch = self._after(period.plan, result, dict(self.dispatch.commanded))
        self._last_base = {b.node: b.base_w for b in period.budgets if b.base_w is not None}
        for bay in period.allocation.stops:
            self._last_stop[bay] = snapshot.wall
        return build_report(
            self.config,
            snapshot,
            statuses,
            self.sessions,
            period.budgets,
            period.allocation,
            dict(self.dispatch.commanded),
            self._margin_w,
            period.plan.held,
        )

    async def react(self, snapshot: Snapshot) -> int:
        """Between periods, when a node meter's fresh value arrives: if the bays under a node
        are commanded more than its new budget, write the decreases now (never increases,
        which wait for the period and for confirmed freed power). The number of writes."""
        if self.dispatch is None:
            return 0
        statuses = {s.bay: s for s in self.port.states(snapshot)}
        old = dict(self.dispatch.commanded)
        period = self._decide(snapshot, statuses, self.dispatch, rise=False, newest=True)
        self._remember(snapshot, statuses)
        if not self._urgent(snapshot, statuses, period.budgets, old) or not period.plan.writes:
            return 0
        result = await self._write(period.plan, old)
        self.dispatch = self._after(period.plan, result, old)
        for bay in period.allocation.stops:
            self._last_stop[bay] = snapshot.wall
        log.info("fast_decrease writes=%d", len(result.writes))
        return len(result.writes)

    def _urgent(
        self,
        snapshot: Snapshot,
        statuses: dict[str, BayStatus],
        budgets: tuple[NodeBudget, ...],
        commanded: dict[str, float],
    ) -> bool:
        """A node at risk now. Metered fresh: its import, less what bays still ramping down
        were last read drawing above their setpoints, past its limit less half the margin
        (bays rising towards setpoints that fit never trip it: the meter sees ramps that
        the chargers' older readings do not). Not: its bays commanded above its budget."""
        meters = {m.node: m.power_w for m in node_measurements(self.config, snapshot)}
        for b in budgets:
            bays = self._under[b.node]
            metered = meters.get(b.node)
            if b.mode is NodeMode.NORMAL and metered is not None:
                falling = sum(
                    max(0.0, _fresh_w(statuses.get(x)) - commanded.get(x, 0.0)) for x in bays
                )
                if metered - falling > b.limit_w - self._margin_w / 2:
                    return True
            elif sum(commanded.get(x, 0.0) for x in bays) > b.available_w + HYSTERESIS_W:
                return True
        return False

    def _remember(self, snapshot: Snapshot, statuses: dict[str, BayStatus]) -> None:
        keep_from = snapshot.taken_at - self.config.control.stale_after_s
        self._readings = remember_readings(self._readings, statuses, keep_from)

    def _decide(
        self,
        snapshot: Snapshot,
        statuses: dict[str, BayStatus],
        state: DispatchState,
        *,
        rise: bool = True,
        newest: bool = False,
    ) -> _Period:
        """`newest`: the meters' newest values (the fast path); else each paired with the
        chargers' readings (`paired_meters`)."""
        measured = bay_measurements(self.config, statuses, self._readings)
        c = self.config
        meters = node_measurements(c, snapshot)
        keep_from = snapshot.taken_at - c.control.stale_after_s
        self._meters = remember_meters(self._meters, meters, keep_from)
        if not newest:
            meters = paired_meters(meters, self._meters, measured, self._under, keep_from)
        budgets = node_budgets(
            BudgetInputs(
                c.limits,
                c.chargers,
                c.bays,
                meters,
                measured,
                tuple(self._last_base.items()),
                self._margin_w,
                self._overrides(),
                tuple((p.bay, p.to_w, p.since) for p in state.ledger),
            )
        )
        commanded = dict(state.commanded)
        applied = {  # the limit each charger reports applying (never a read-back register)
            b: s.limit_w
            for b, s in statuses.items()
            if s.grade is Grade.FRESH and s.limit_w is not None
        }
        base = AllocationInputs(c.limits, c.chargers, c.bays, budgets, (), self._tuning)
        blind = unproven_raises(base, state, measured, snapshot.taken_at, applied)
        bay_inputs = tuple(
            self._bay_input(b.id, statuses.get(b.id), commanded.get(b.id, 0.0), b.id in blind)
            for b in c.bays
        )
        inputs = AllocationInputs(
            c.limits,
            c.chargers,
            c.bays,
            budgets,
            bay_inputs,
            self._tuning,
            self._out_of_service(),
            c.control.period_s,
        )
        if self.planner is not None:
            inputs = replace(inputs, plan=self.planner.power_w(inputs, snapshot.wall))
        allocation = allocate(inputs, snapshot.wall)
        plan = plan_dispatch(
            inputs,
            allocation,
            state,
            measured,
            snapshot.taken_at,
            c.control.period_s,
            applied,
            rise,
        )
        return _Period(budgets, inputs, allocation, plan)

    def _bay_input(
        self, bay: str, st: BayStatus | None, previous_w: float, blind: bool
    ) -> BayInput:
        """`blind`: its last increase is not seen landing yet: no measured draw to reclaim."""
        if st is None:
            return BayInput(bay, BayState.UNAVAILABLE, None, previous_w=previous_w)
        fresh = st.grade.value == "fresh" and not blind
        return BayInput(
            bay,
            st.state,
            self.sessions.get(bay),
            measured_w=st.power_w if fresh else None,
            vehicle_max_w=st.ev_max_power_w,
            previous_w=previous_w,
            last_stop_at=self._last_stop.get(bay),
            soc_pct=st.soc_pct,
            battery_wh=st.ev_battery_wh,
        )

    def _initial_commanded(self, statuses: dict[str, BayStatus]) -> dict[str, float]:
        """What each reported bay's charger holds: its applied limit, else its setpoint read
        back, else the safe state's equal share of the charger's fallback (the last thing
        written to it)."""
        out = {}
        for bay in self.config.bays:
            st = statuses.get(bay.id)
            if st is None:
                continue  # no backend: nothing was or can be written
            held = st.limit_w if st.limit_w is not None else st.setpoint_w
            if held is not None:
                out[bay.id] = held
                continue
            ch = next(c for c in self.config.chargers if c.id == bay.charger)
            n = sum(1 for b in self.config.bays if b.charger == ch.id)
            out[bay.id] = ch.fallback_kw * 1000.0 / n
        return out

    async def _write(self, plan: DispatchPlan, old: dict[str, float]) -> ApplyResult:
        """Break before make: every decrease is written (and answered) before any increase."""
        down = {w.bay: w.power_w for w in plan.writes if w.power_w < old.get(w.bay, 0.0)}
        up = {w.bay: w.power_w for w in plan.writes if w.bay not in down}
        done: list[BayWrite] = []
        for part in (down, up):
            if part:
                done += (await self.port.apply(part)).writes
        return ApplyResult(tuple(done))

    def _after(
        self, plan: DispatchPlan, result: ApplyResult, old: dict[str, float]
    ) -> DispatchState:
        """The plan's state, with each failed write's bay back at its old commanded value so
        the next period asks for it again."""
        commanded = dict(plan.state.commanded)
        self.writes += len(result.writes)
        for w in result.writes:
            if w.outcome.value == "failed":
                self.write_failures += 1
                commanded[w.bay] = old.get(w.bay, 0.0)
                if w.bay not in self.failing:
                    log.warning(
                        "setpoint_retry bay=%s power_w=%.0f reason=%s", w.bay, w.power_w, w.reason
                    )
                self.failing[w.bay] = w.reason
            elif w.bay in self.failing:
                del self.failing[w.bay]
                log.info("setpoint_written_again bay=%s power_w=%.0f", w.bay, w.power_w)
        return DispatchState(tuple(commanded.items()), plan.state.ledger, plan.state.raised)


def _fresh_w(st: BayStatus | None) -> float:
    return st.power_w or 0.0 if st is not None and st.grade is Grade.FRESH else 0.0
