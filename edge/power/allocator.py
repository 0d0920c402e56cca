"""Split each period's budget among the bays: `allocate(inputs, now) -> Allocation`.

Objective, in this order: (a) as many trucks as possible leave with the energy they wanted,
break and booked trucks first; (b) as much energy as possible; (c) fairness among equals.
Steps (docs/power.md explains why):

0. caps: bay max, what the vehicle accepts, what it actually draws (reclaim), the mode
   (hold: no increase; fallback: the node's fallback shared per bay);
1. keep-alive: every session gets `pause_w` (sessions we stopped < 10 min ago first);
   with a plan (`AllocationInputs.plan`, `edge/power/planner.py`), the planned bays get
   their planned power, most urgent first; steps 2-4 then share what is left among the
   bays the plan does not cover, and step 5 among all;
2. needs of the break and booked trucks committed to (`deadline_admission`: the most that
   could still finish), earliest departure first: the power their remaining energy needs
   by their departure (x NEED_MARGIN for the taper);
3. needs of overnight trucks that can still finish and have less than an hour to spare;
4. energy: (a) break and booked trucks whose energy wanted is only the site's default
   (unknown): each up to its cap, earliest departure first, so the first ones finish
   rather than all sharing and none finishing; (b) the others up to their cap: first
   those that cannot finish any more, sharing as equals (what they miss now is lost),
   then least slack first (the others can still catch up later); trucks with equal slack
   share, water-filled;
5. what is left: water-filled among all sessions;
6. clamp to the tree (the last step: no node exceeded, whatever came before).
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.power.allocation_model import (
    NEED_MARGIN,
    RESTART_GUARD_S,
    Allocation,
    AllocationInputs,
    BayInput,
    BayPlan,
    Setpoint,
    plan_bays,
)
from edge.power.constraint_tree import EPS_W, Tree, build_tree
from edge.power.deadline_admission import committed
from edge.power.fill import clamp_to_tree, full, grant, water_fill
from edge.sessions import Source

NEED_HORIZON_S = 3600.0  # an overnight truck with more slack than this waits for what is left
EQUAL_SLACK_S = 1.0  # trucks this close in slack are equals: they share, water-filled

__all__ = ["NEED_MARGIN", "RESTART_GUARD_S", "Allocation", "AllocationInputs", "allocate"]


def allocate(inputs: AllocationInputs, now: float) -> Allocation:
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    plans = plan_bays(inputs, tree, now)
    guessed = _guessed_wants(inputs)
    if inputs.period_s > 0:
        _cap_to_period(plans, guessed, inputs.period_s)
    order = sorted((p for p in plans.values() if p.eligible), key=_urgency)
    ids = [p.bay for p in order]
    x = dict.fromkeys(plans, 0.0)
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for p in order:  # 1. keep-alive
        if p.keep_alive:
            grant(tree, used, x, p.bay, min(p.levels.pause_w, p.cap_w), p.levels)
    planned = inputs.plan or {}
    for p in order:  # 1b. the plan's power, most urgent first (the budget may have shrunk)
        if p.bay in planned:
            # A session restarted < 10 min ago keeps running: the plan may not stop it again.
            floor = p.levels.min_w if p.protected else 0.0
            grant(tree, used, x, p.bay, min(max(planned[p.bay], floor), p.cap_w), p.levels)
    unplanned = [p for p in order if p.bay not in planned] if planned else order
    deadline = [p for p in unplanned if p.kind_rank == 0 and p.bay not in guessed]
    rest = [p for p in unplanned if p.kind_rank > 0]
    for p in (*committed(deadline, tree, used), *_overnight_needs(rest)):  # 2., 3. needs
        grant(tree, used, x, p.bay, min(p.need_w * NEED_MARGIN, p.cap_w), p.levels)
    unknown = (p for p in unplanned if p.kind_rank == 0 and p.bay in guessed)
    for p in sorted(unknown, key=_departure):  # 4a. wants unknown: by departure, to the cap
        grant(tree, used, x, p.bay, p.cap_w, p.levels)
    _least_slack_first(tree, used, x, deadline)  # 4b. energy
    for p in rest:  # 5. the rest: to the running minimum first, most urgent first
        if x[p.bay] < p.levels.min_w and not full(tree, used):
            grant(tree, used, x, p.bay, min(p.levels.min_w, p.cap_w), p.levels)
    _fill(tree, used, x, order)
    used = clamp_to_tree(tree, x, {b: p.levels for b, p in plans.items()}, ids)
    return _result(inputs, tree, plans, x, used, ids, now)


def _fill(tree: Tree, used: dict[str, float], x: dict[str, float], plans: list[BayPlan]) -> None:
    """Water-fill the running sessions among `plans`. Running: at or above the minimum; with
    no minimum (0 kW) every session runs, or a truck with hours to spare on a charger
    without a minimum would never get power."""
    running = [p for p in plans if _running(x[p.bay], p.levels.min_w)]
    water_fill(tree, used, x, {p.bay: p.cap_w for p in running}, [p.bay for p in running])


def _running(x_w: float, min_w: float) -> bool:
    return x_w >= min_w - EPS_W and (x_w > 0 or min_w <= EPS_W)


def _urgency(p: BayPlan) -> tuple[bool, int, float, str]:
    return (not p.protected, p.kind_rank, p.slack_s, p.bay)


def _guessed_wants(inputs: AllocationInputs) -> frozenset[str]:
    """Bays whose truck's energy wanted is only the site's `[sessions]` default: what it
    really wants is unknown (the default is about the most a break can take), so its slack
    says nothing about whether it can finish."""
    return frozenset(
        b.bay
        for b in inputs.bay_inputs
        if b.session is not None and b.session.energy_wanted_wh.source is Source.DEFAULT
    )


def _cap_to_period(plans: dict[str, BayPlan], guessed: frozenset[str], period_s: float) -> None:
    """A truck whose want is known gets no more than it still wants over one period: a
    truck finishing mid-period would leave the rest of its setpoint stranded until the
    next one (reclaim only sees it then)."""
    for p in plans.values():
        if not p.eligible or p.bay in guessed or p.remaining_wh <= 0:
            continue
        want_w = p.remaining_wh * 3600.0 / period_s
        lv = p.levels  # below the minimum the charger cannot run: round up, as `plan_bays`
        want_w = want_w if want_w >= lv.min_w else (lv.min_w if want_w > lv.pause_w else lv.pause_w)
        if 0 < want_w < p.cap_w:
            p.cap_w, p.cap_binding = want_w, "vehicle"  # its slack stays: it can finish


def _departure(p: BayPlan) -> tuple[float, str]:
    return (p.left_s, p.bay)


def _overnight_needs(rest: list[BayPlan]) -> list[BayPlan]:
    """Overnight trucks that can still finish and have under an hour to spare, smallest
    need first (so the most of them finish); the others wait for what is left."""
    feasible = [p for p in rest if 0 < p.need_w <= p.cap_w + EPS_W and p.slack_s < NEED_HORIZON_S]
    return sorted(feasible, key=lambda p: (p.need_w, p.bay))


def _least_slack_first(
    tree: Tree, used: dict[str, float], x: dict[str, float], deadline: Sequence[BayPlan]
) -> None:
    """Trucks that cannot finish any more first, sharing as equals (what they miss now is
    lost, and none of them is worth more than another); then each truck up to its cap,
    least slack first, equals (slack within EQUAL_SLACK_S) raised together. Here slack
    counts a truck's cabinet as shared by all its bays: a truck alone on a two-bay cabinet
    will likely have to share it later, so it fills up while it can."""
    _share_equally(tree, used, x, [p for p in deadline if p.slack_s < 0])
    slack = {p.bay: _shared_slack(tree, p) for p in deadline if p.slack_s >= 0}
    ordered = sorted((p for p in deadline if p.bay in slack), key=lambda p: (slack[p.bay], p.bay))
    i = 0
    while i < len(ordered) and not full(tree, used):
        first = slack[ordered[i].bay]
        j = i + 1
        while j < len(ordered) and slack[ordered[j].bay] - first <= EQUAL_SLACK_S:
            j += 1
        if j == i + 1:
            p = ordered[i]
            grant(tree, used, x, p.bay, p.cap_w, p.levels)
        else:
            _share_equally(tree, used, x, ordered[i:j])
        i = j


def _share_equally(
    tree: Tree, used: dict[str, float], x: dict[str, float], group: list[BayPlan]
) -> None:
    for p in group:
        if x[p.bay] < p.levels.min_w:
            grant(tree, used, x, p.bay, min(p.levels.min_w, p.cap_w), p.levels)
    _fill(tree, used, x, group)


def _shared_slack(tree: Tree, p: BayPlan) -> float:
    """`BayPlan.slack_s` at the cabinet's share per bay (inf: nothing left to want)."""
    cabinet = tree.paths[p.bay][0]
    share_w = min(p.cap_w, tree.capacity_w[cabinet] / len(tree.bays_at[cabinet]))
    if p.remaining_wh <= 0 or share_w <= 0:
        return p.slack_s
    return p.left_s - p.remaining_wh * 3600.0 / share_w


def _result(
    inputs: AllocationInputs,
    tree: Tree,
    plans: dict[str, BayPlan],
    x: dict[str, float],
    used: dict[str, float],
    order: list[str],
    now: float,
) -> Allocation:
    by_bay = {b.bay: b for b in inputs.bay_inputs}
    setpoints = []
    stops = []
    for bay in inputs.bays:
        p = plans[bay.id]
        power = x[bay.id] if p.eligible else 0.0
        setpoints.append(Setpoint(bay.id, power, _binding(tree, p, power, used)))
        prev: BayInput | None = by_bay.get(bay.id)
        if p.eligible and power == 0.0 and prev is not None and prev.previous_w > 0:
            stops.append(bay.id)
    return Allocation(now, tuple(setpoints), tuple(order), tuple(stops))


def _binding(tree: Tree, p: BayPlan, power: float, used: dict[str, float]) -> str:
    if not p.eligible or power >= p.cap_w - EPS_W:
        return p.cap_binding
    path = tree.paths[p.bay]
    capacity = tree.capacity_w
    least = min([capacity[n] - used[n] for n in path])
    # The nearest node that is (within 1 W) as full as the fullest: the local cause.
    for n in path:
        if capacity[n] - used[n] <= least + 1.0:
            return tree.binding[n]
    return tree.binding[path[-1]]  # not reached: the least is on the path
