"""Split each period's budget among the bays: `allocate(inputs, now) -> Allocation`.

Objective, in this order: (a) as many trucks as possible leave with the energy they wanted,
break and booked trucks first; (b) as much energy as possible; (c) fairness among equals.
Steps (docs/power.md explains why):

0. caps: bay max, what the vehicle accepts, what it actually draws (reclaim), the mode
   (hold: no increase; fallback: the node's fallback shared per bay);
1. keep-alive: every session gets `pause_w` (sessions we stopped < 10 min ago first);
2. needs: trucks that can still finish, and have less than an hour to spare, get the power
   their remaining energy needs by their departure (x NEED_MARGIN for the taper), smallest
   need first so the most trucks finish; break and booked trucks before overnight ones;
3. what is left: water-filled among break and booked trucks, then among all;
4. clamp to the tree (the last step: no node exceeded, whatever came before).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.power.allocation_model import (
    RESTART_GUARD_S,
    Allocation,
    AllocationInputs,
    BayInput,
    BayPlan,
    Setpoint,
    plan_bays,
)
from edge.power.constraint_tree import EPS_W, Tree, build_tree
from edge.power.fill import clamp_to_tree, grant, water_fill

NEED_MARGIN = 1.2  # acceptance falls near full: ask for a bit more than the average need
NEED_HORIZON_S = 3600.0  # a truck with more slack than this waits for what is left

__all__ = ["NEED_MARGIN", "RESTART_GUARD_S", "Allocation", "AllocationInputs", "allocate"]


@dataclass(frozen=True, slots=True)
class _Tiers:
    urgent_needs: tuple[str, ...]  # deadline trucks that can still finish, smallest need first
    other_needs: tuple[str, ...]  # overnight trucks, smallest need first
    deadline: tuple[str, ...]  # break and booked, most urgent first
    rest: tuple[str, ...]  # everyone else in session


def allocate(inputs: AllocationInputs, now: float) -> Allocation:
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    plans = plan_bays(inputs, tree, now)
    order = sorted((p for p in plans.values() if p.eligible), key=_urgency)
    ids = [p.bay for p in order]
    x = dict.fromkeys(plans, 0.0)
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for p in order:  # 1. keep-alive
        if p.keep_alive:
            grant(tree, used, x, p.bay, min(p.levels.pause_w, p.cap_w), p.levels)
    tiers = _tiers(order)
    for b in (*tiers.urgent_needs, *tiers.other_needs):  # 2. needs
        grant(tree, used, x, b, min(plans[b].need_w * NEED_MARGIN, plans[b].cap_w), plans[b].levels)
    for group, promote in ((tiers.deadline, tiers.deadline), (ids, tiers.rest)):  # 3. the rest
        for b in promote:  # to the running minimum first, most urgent first
            p = plans[b]
            if x[b] < p.levels.min_w:
                grant(tree, used, x, b, min(p.levels.min_w, p.cap_w), p.levels)
        # Running: at or above the minimum; with no minimum (0 kW) every session runs, or a
        # truck with hours to spare on a charger without a minimum would never get power.
        running = [b for b in group if _running(x[b], plans[b].levels.min_w)]
        water_fill(tree, used, x, {b: plans[b].cap_w for b in running}, running)
    used = clamp_to_tree(tree, x, {b: p.levels for b, p in plans.items()}, ids)
    return _result(inputs, tree, plans, x, used, ids, now)


def _running(x_w: float, min_w: float) -> bool:
    return x_w >= min_w - EPS_W and (x_w > 0 or min_w <= EPS_W)


def _urgency(p: BayPlan) -> tuple[bool, int, float, str]:
    return (not p.protected, p.kind_rank, p.slack_s, p.bay)


def _tiers(order: list[BayPlan]) -> _Tiers:
    deadline = [p for p in order if p.kind_rank == 0]
    overnight = [p for p in order if p.kind_rank > 0]

    def needs(ps: list[BayPlan]) -> tuple[str, ...]:
        feasible = [p for p in ps if 0 < p.need_w <= p.cap_w + EPS_W and p.slack_s < NEED_HORIZON_S]
        return tuple(p.bay for p in sorted(feasible, key=lambda p: (p.need_w, p.bay)))

    return _Tiers(
        needs(deadline),
        needs(overnight),
        tuple(p.bay for p in deadline),
        tuple(p.bay for p in overnight),
    )


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
    if not p.eligible:
        return p.cap_binding
    if power >= p.cap_w - EPS_W:
        return p.cap_binding
    path = tree.paths[p.bay]
    least = min(tree.capacity_w[n] - used[n] for n in path)
    # The nearest node that is (within 1 W) as full as the fullest: the local cause.
    return tree.binding[next(n for n in path if tree.capacity_w[n] - used[n] <= least + 1.0)]
