"""Which deadline trucks to commit to this period: the most that could still finish.

Break and booked trucks that can still finish at their own cap (`BayPlan.slack_s >= 0`)
are taken in order of departure; whenever the energy committed so far (x ADMIT_MARGIN)
would not fit into the site's headroom by the latest departure, the truck wanting the most
is dropped (Moore and Hodgson's rule, which maximises the count on one resource). The site
headroom is assumed to stay as it is now: a forecast, so the check runs again every period.
A dropped truck is not starved: it takes part in what is left (docs/power.md).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from edge.power.allocation_model import BayPlan

# Energy counted 35 % high: acceptance falls near full and trucks still to come share the
# budget. Tuned on bench.service_bound's contested days (1.2-1.5 serve within a truck).
ADMIT_MARGIN = 1.35


def committed(deadline: Iterable[BayPlan], headroom_w: float) -> list[BayPlan]:
    """The trucks to serve first, least slack first."""
    can_finish = [p for p in deadline if p.remaining_wh > 0 and p.left_s > 0 and p.slack_s >= 0]
    can_finish.sort(key=lambda p: (p.left_s, p.bay))
    kept: list[tuple[float, str, BayPlan]] = []  # max-heap on energy (negated)
    total_j = 0.0
    for p in can_finish:
        energy_j = p.remaining_wh * 3600.0 * ADMIT_MARGIN
        heapq.heappush(kept, (-energy_j, p.bay, p))
        total_j += energy_j
        if total_j > headroom_w * p.left_s:
            largest, _, _ = heapq.heappop(kept)
            total_j += largest
    return sorted((p for _, _, p in kept), key=lambda p: (p.slack_s, p.bay))
