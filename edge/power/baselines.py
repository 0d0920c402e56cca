"""What existing load managers do, as allocators with the same inputs and outputs, so that
tests and the hub simulator can compare them with `allocate` on the same days:

- `first_come_first_served`: each session, oldest first, takes what it can (evcc's circuit
  headroom: new sessions get what is left, no rebalancing);
- `equal_shares`: water-filling, every session alike (EVerest's energy manager slices);
- `earliest_deadline_first`: each session, earliest departure first, takes what it can
  (ACN-Sim's EDF sorted scheduling).

They respect the same tree, caps, minimum and pause levels as `allocate`: only the
objective differs.
"""

from __future__ import annotations

from collections.abc import Callable

from edge.power.allocation_model import (
    Allocation,
    AllocationInputs,
    BayPlan,
    Setpoint,
    plan_bays,
)
from edge.power.constraint_tree import Tree, build_tree
from edge.power.fill import clamp_to_tree, grant, water_fill

Policy = Callable[[AllocationInputs, float], Allocation]


def first_come_first_served(inputs: AllocationInputs, now: float) -> Allocation:
    starts = {b.bay: (b.session.start if b.session else now) for b in inputs.bay_inputs}
    return _greedy(inputs, now, lambda p: (starts.get(p.bay, now), p.bay))


def earliest_deadline_first(inputs: AllocationInputs, now: float) -> Allocation:
    dep = {
        b.bay: (b.session.departure.value if b.session else float("inf")) for b in inputs.bay_inputs
    }
    return _greedy(inputs, now, lambda p: (dep.get(p.bay, float("inf")), p.bay))


def equal_shares(inputs: AllocationInputs, now: float) -> Allocation:
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    plans = plan_bays(inputs, tree, now)
    order = sorted(b for b, p in plans.items() if p.eligible)
    x = dict.fromkeys(plans, 0.0)
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for b in order:
        grant(tree, used, x, b, min(plans[b].levels.min_w, plans[b].cap_w), plans[b].levels)
    running = [b for b in order if x[b] > 0 and x[b] >= plans[b].levels.min_w]
    water_fill(tree, used, x, {b: plans[b].cap_w for b in running}, running)
    return _finish(inputs, plans, tree, x, order, now)


def _greedy(
    inputs: AllocationInputs, now: float, key: Callable[[BayPlan], tuple[float, str]]
) -> Allocation:
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    plans = plan_bays(inputs, tree, now)
    order = [p.bay for p in sorted((p for p in plans.values() if p.eligible), key=key)]
    x = dict.fromkeys(plans, 0.0)
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for b in order:
        grant(tree, used, x, b, plans[b].cap_w, plans[b].levels)
    return _finish(inputs, plans, tree, x, order, now)


def _finish(
    inputs: AllocationInputs,
    plans: dict[str, BayPlan],
    tree: Tree,
    x: dict[str, float],
    order: list[str],
    now: float,
) -> Allocation:
    clamp_to_tree(tree, x, {b: p.levels for b, p in plans.items()}, order)
    setpoints = tuple(
        Setpoint(b.id, x[b.id] if plans[b.id].eligible else 0.0, "baseline") for b in inputs.bays
    )
    return Allocation(now, setpoints, tuple(order), ())
