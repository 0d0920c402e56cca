"""Which deadline trucks to commit to this period: the most that could still finish.

Break and booked trucks that can still finish at their own cap (`BayPlan.slack_s >= 0`)
are taken in order of departure. Every node above a truck (its cabinet, feeder, the grid
connection) must be able to deliver, by each departure, the energy committed under it (at
the grid connection x ADMIT_MARGIN) at the headroom it has now; where a node would not,
the truck under it that wants the most is dropped (Moore and Hodgson's rule, which
maximises the count on one resource, applied per node). The headroom is assumed to stay
as it is now: a forecast, so the check runs again every period. A dropped truck is not
starved: it takes part in what is left (docs/power.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from edge.power.allocation_model import NEED_MARGIN, BayPlan
from edge.power.constraint_tree import Tree

# At the grid connection the committed needs are counted as they are granted, x
# NEED_MARGIN (acceptance falls near full); under a feeder or a cabinet at face value, or
# a truck needing most of its cabinet alone would never be committed (docs/power.md).
ADMIT_MARGIN = NEED_MARGIN


def committed(deadline: Iterable[BayPlan], tree: Tree, used: Mapping[str, float]) -> list[BayPlan]:
    """The trucks to serve first, earliest departure first: the order this check assumes,
    and one that stays put from one period to the next. Least slack first does not: where
    the committed needs exceed a node's headroom now (the check counts energy by each
    departure, not power now), the truck left out loses slack and comes first the next
    period, so the trucks took turns every period, each stop a charger ramping down and up
    again (`tests/test_power_alloc_deadlines.py`)."""
    can_finish = [p for p in deadline if p.remaining_wh > 0 and p.left_s > 0 and p.slack_s >= 0]
    can_finish.sort(key=lambda p: (p.left_s, p.bay))
    total_j: dict[str, float] = {}
    heaps: dict[str, list[tuple[float, str]]] = {}  # per node, max-heap on energy (negated)
    energy = {p.bay: p.remaining_wh * 3600.0 for p in can_finish}
    roots = set(tree.roots)
    dropped: set[str] = set()
    for p in can_finish:
        path = tree.paths[p.bay]
        for n in path:
            total_j[n] = total_j.get(n, 0.0) + energy[p.bay]
            heapq.heappush(heaps.setdefault(n, []), (-energy[p.bay], p.bay))
        for n in path:
            room_j = (tree.capacity_w[n] - used[n]) * p.left_s
            if n in roots:
                room_j /= ADMIT_MARGIN
            heap = heaps[n]
            while total_j[n] > room_j and heap:  # a node with no headroom drops them all
                _, bay = heapq.heappop(heap)
                if bay in dropped:  # dropped under another node: a stale heap entry
                    continue
                dropped.add(bay)
                for m in tree.paths[bay]:
                    total_j[m] -= energy[bay]
    return [p for p in can_finish if p.bay not in dropped]
