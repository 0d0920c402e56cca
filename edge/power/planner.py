"""The controller's plan: the power each truck on a bay should take now, from a schedule over
the next hours that serves the most break and booked trucks fully, then delivers the most
energy (`docs/power.md`, "The plan"). Pure: builds a `Program` from the allocator's inputs
and reads the solver's columns back; the solver is passed in (scipy HiGHS, in the shell).

Why a plan: `allocate` decides each period from that period alone, so it fills the trucks it
commits to early and, when a rush ends, the trucks still on the bays have too little left
to take the power that frees up. A schedule over the trucks present gives power now to the
trucks with the least room to spare and defers those that can catch up later
(on the bench model, `bench.service_bound`: 99.1-99.7 % of the energy bound against
97.4-99.3 %, at 94-98 % of the break-truck bound against 98-100 %).

What the plan assumes, each a forecast made again at every plan:
- every node keeps the capacity it has now;
- no other truck arrives (one that does is shared by `allocate` until the next plan);
- a truck whose charger reports its state of charge, and whose battery size is known, takes
  at most its bay's maximum, falling linearly from `taper_from_pct` to nothing at 100 % (the
  usual constant-current then constant-voltage shape); any other truck takes up to its
  bay's maximum until it has what it wants. Without the taper the plan serves trucks just
  in time and a truck that slows down misses: the plan leaves them out (`PlanSettings`).

Which trucks are planned: break and booked trucks whose energy wanted is known (a booking,
the vehicle, an operator), and overnight trucks. A break truck on the site's default want
is not: its real want is unknown, and `allocate` serves those earliest departure first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from edge.power.allocation_model import AllocationInputs, BayInput, BayPlan, plan_bays
from edge.power.constraint_tree import Tree, build_tree
from edge.power.schedule_program import Program, Row
from edge.sessions import Source

SERVED_TOLERANCE_WH = 1_000.0  # a truck within 1 kWh of its want counts as served
AFTER_HORIZON = 0.99  # energy after the horizon (overnight trucks): worth a little less

# (program, weight per column, served weight, seconds) -> columns, or None: none found
Solver = Callable[[Program, Sequence[float], float, float], Sequence[float] | None]


@dataclass(frozen=True, slots=True)
class PlanSettings:
    step_s: float = 120.0
    horizon_s: float = 3 * 3600.0  # longer than a break, past a rush
    taper_from_pct: float = 80.0
    # A break or booked truck served fully is worth 3 MWh: more than one truck can take in
    # the horizon, so the plan gives up a served truck only for a lot more energy.
    per_served_wh: float = 3e6
    solve_s: float = 5.0  # the solver's time limit
    # Plan only trucks whose taper is known (state of charge and battery size): planned at
    # their bay's maximum, a tapering truck misses what the plan promised it.
    need_taper: bool = True
    # Against the plant's friction (each was measured on the closed-loop plant, where a plan
    # without them served 33 of 74 break trucks against 53 with them, docs/power.md):
    earlier_per_step: float = 1e-3  # energy sooner is worth this much more per step: a
    # served truck finishes early, not just in time
    later_derate: float = 0.9  # after the first step, a bay's maximum x this: ramps and
    # break before make take their share of every switch
    served_margin_wh: float = 4_000.0  # a served truck is planned this much above its want
    change_cost: float = 1e-3  # per Wh a bay's power now moves from its setpoint
    keep_served: bool = True  # a truck the last plan served counts twice: plans keep their
    # promises rather than switching among equal ones


@dataclass(frozen=True, slots=True)
class Plan:
    made_at: float
    power_w: Mapping[str, float]  # per planned bay: its power for the first step
    served: frozenset[str] = frozenset()  # bays whose truck it serves fully


@dataclass(frozen=True, slots=True)
class _Truck:
    plan: BayPlan
    given: BayInput
    goal: bool  # a break or booked truck: served counts


def make_plan(
    inputs: AllocationInputs,
    now: float,
    settings: PlanSettings,
    solve: Solver,
    keep: frozenset[str] = frozenset(),
) -> Plan | None:
    """The plan at `now`; None if the solver found no schedule in time. `keep`: the bays
    whose trucks the last plan served fully (they count twice: see `PlanSettings`)."""
    program, weights, first, goal_bays = build(inputs, now, settings, keep)
    if not first:
        return Plan(now, {})
    x = solve(program, weights, settings.per_served_wh, settings.solve_s)
    if x is None:
        return None
    step_h = settings.step_s / 3600.0
    served = frozenset(
        bay
        for bay, (cols, need) in zip(goal_bays, program.goals, strict=True)
        if sum(float(x[c]) for c in cols) >= need - 1.0
    )
    # A column is energy; its power is over the part of the first step the truck is there.
    return Plan(
        now,
        {bay: max(0.0, float(x[col])) / (step_h * there) for bay, (col, there) in first.items()},
        served,
    )


def build(
    inputs: AllocationInputs,
    now: float,
    settings: PlanSettings,
    keep: frozenset[str] = frozenset(),
) -> tuple[Program, list[float], dict[str, tuple[int, float]], list[str]]:
    """The program; the weight of each column; each planned bay's column for now with the
    share of the first step it is on its bay (its departure may fall within it); the bay
    of each goal. `keep`: the bays whose trucks the last plan served."""
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    plans = plan_bays(inputs, tree, now)  # once: the trucks planned and the pauses kept
    b = _Builder(tree, now, settings)
    for tr in _planned(inputs, plans, tree, settings):
        b.add(tr, keep)
    kept = _kept_alive(plans, tree)
    for (node, _), cols in b.by_node_step.items():
        room_w = tree.capacity_w[node] - kept.get(node, 0.0)
        b.rows.append((dict.fromkeys(cols, 1.0), max(0.0, room_w) * b.step_h))
    return Program(b.upper, b.rows, b.goals), b.weights, b.first, b.goal_bays


class _Builder:
    """The program's columns, rows and goals, one truck at a time."""

    def __init__(self, tree: Tree, now: float, settings: PlanSettings) -> None:
        self.tree, self.now, self.settings = tree, now, settings
        self.step_h = settings.step_s / 3600.0
        self.n_steps = max(1, int(settings.horizon_s // settings.step_s))
        self.upper: list[float] = []
        self.weights: list[float] = []
        self.rows: list[Row] = []
        self.goals: list[tuple[Sequence[int], float]] = []
        self.goal_bays: list[str] = []
        self.by_node_step: dict[tuple[str, int], list[int]] = {}
        self.first: dict[str, tuple[int, float]] = {}

    def _column(self, upper: float, weight: float) -> int:
        self.upper.append(upper)
        self.weights.append(weight)
        return len(self.upper) - 1

    def add(self, tr: _Truck, keep: frozenset[str]) -> None:
        p, st, now = tr.plan, self.settings, self.now
        later_w = p.cap_w if p.cap_binding.startswith("mode:") else p.levels.max_w
        later_w *= st.later_derate
        cols: list[int] = []
        for k in range(self.n_steps):
            start = now + k * st.step_s
            if start >= now + p.left_s:
                break
            there = min(1.0, (now + p.left_s - start) / st.step_s)
            cap_w = p.cap_w if k == 0 else later_w
            col = self._column(cap_w * self.step_h * there, 1.0 - st.earlier_per_step * k)
            cols.append(col)
            if k == 0:
                self.first[p.bay] = (col, there)
                self._change(col, p, tr.given.previous_w * self.step_h * there)
            for node in self.tree.paths[p.bay]:
                self.by_node_step.setdefault((node, k), []).append(col)
        self.rows += _taper_rows(tr, cols, self.step_h, st)
        horizon_end = now + self.n_steps * st.step_s
        if now + p.left_s > horizon_end:  # the rest of a long stay, after the horizon
            cabinet = self.tree.paths[p.bay][0]
            share_w = self.tree.capacity_w[cabinet] / len(self.tree.bays_at[cabinet])
            after_h = (now + p.left_s - horizon_end) / 3600.0
            cols.append(self._column(share_w * after_h, AFTER_HORIZON))
        margin = st.served_margin_wh if tr.goal else 0.0
        self.rows.append((dict.fromkeys(cols, 1.0), p.remaining_wh + margin))
        if tr.goal:
            need = p.remaining_wh + margin - SERVED_TOLERANCE_WH
            for _ in range(2 if st.keep_served and p.bay in keep else 1):  # kept: worth twice
                self.goals.append((cols, need))
                self.goal_bays.append(p.bay)

    def _change(self, col: int, p: BayPlan, now_wh: float) -> None:
        """|first step - the setpoint now| <= a column costing `change_cost` per Wh."""
        change = self._column(p.levels.max_w * self.step_h, -self.settings.change_cost)
        self.rows.append(({col: 1.0, change: -1.0}, now_wh))
        self.rows.append(({col: -1.0, change: -1.0}, -now_wh))


def _planned(
    inputs: AllocationInputs, plans: Mapping[str, BayPlan], tree: Tree, settings: PlanSettings
) -> list[_Truck]:
    given = {b.bay: b for b in inputs.bay_inputs}
    out = []
    for p in plans.values():
        b = given.get(p.bay)
        if not p.eligible or b is None or b.session is None or p.remaining_wh <= 0:
            continue
        if p.left_s <= 0 or p.bay not in tree.paths:
            continue
        if settings.need_taper and (b.soc_pct is None or b.battery_wh is None):
            continue
        known = b.session.energy_wanted_wh.source is not Source.DEFAULT
        if p.kind_rank == 0 and known:
            out.append(_Truck(p, b, True))
        elif p.kind_rank == 1:
            out.append(_Truck(p, b, False))
    return out


def _kept_alive(plans: Mapping[str, BayPlan], tree: Tree) -> dict[str, float]:
    """Per node, the pause power `allocate` gives every session under it before the plan
    (step 1): the plan shares what is left, so what it plans fits on top."""
    out: dict[str, float] = {}
    for p in plans.values():
        if p.eligible and p.keep_alive and p.levels.pause_w > 0:
            for node in tree.paths[p.bay]:
                out[node] = out.get(node, 0.0) + min(p.levels.pause_w, p.cap_w)
    return out


def _taper_rows(tr: _Truck, cols: list[int], step_h: float, settings: PlanSettings) -> list[Row]:
    """Step k's energy + a * the energy before it <= what the taper allows at the state of
    charge now: p <= max * (100 - soc) / (100 - from), soc = soc0 + 100 * E / battery."""
    soc, battery = tr.given.soc_pct, tr.given.battery_wh
    if soc is None or battery is None or battery <= 0:
        return []
    span = 100.0 - settings.taper_from_pct
    if soc + 100.0 * tr.plan.remaining_wh / battery <= settings.taper_from_pct or span <= 0:
        return []  # it never reaches the taper within what it wants
    max_w = tr.plan.levels.max_w
    slope = max_w * step_h * 100.0 / (battery * span)
    rhs = max_w * step_h * max(0.0, 100.0 - soc) / span
    rows: list[Row] = []
    for i, col in enumerate(cols):
        coefs = dict.fromkeys(cols[:i], slope)
        coefs[col] = 1.0
        rows.append((coefs, rhs))
    return rows
