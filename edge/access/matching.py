"""Can every truck that needs a bay get a compatible one? Bipartite matching, by classes.

Whether a truck fits a bay depends only on the bay's (plot, connector, reachable sides) and on
the truck's (plot, acceptable (connector, side) pairs). So trucks and bays are grouped into
classes with counts, and the matching is a max flow between the two small sides, found with
plain augmenting paths (Ford-Fulkerson with breadth-first search). By Hall's theorem this is
exactly the per-truck matching, but its cost grows with the number of classes (a few dozen),
not with the 1,000 bookings a six-month calendar can put in a horizon.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from edge.access.bookings import Need
from edge.siteconf.model import Bay, Connector, InletSide


@dataclass(frozen=True, slots=True, order=True)
class BayClass:
    plot: str
    connector: Connector
    sides: tuple[InletSide, ...]  # sorted


@dataclass(frozen=True, slots=True)
class Demand:
    """What one truck needs: a bay on `plot` (None: any plot) serving one of `accepts`."""

    plot: str | None
    accepts: frozenset[Need]

    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.plot or "", tuple(sorted(f"{c}/{s}" for c, s in self.accepts)))


def bay_class(bay: Bay) -> BayClass:
    return BayClass(bay.plot, bay.connector, tuple(sorted(set(bay.inlet_sides))))


def serves(cls: BayClass, demand: Demand) -> bool:
    if demand.plot is not None and demand.plot != cls.plot:
        return False
    return any(c is cls.connector and s in cls.sides for c, s in demand.accepts)


def fits(bay: Bay, demand: Demand) -> bool:
    return serves(bay_class(bay), demand)


def supply_of(bays: Iterable[Bay]) -> Counter[BayClass]:
    return Counter(bay_class(b) for b in bays)


def max_matched(demands: Iterable[Demand], supply: Mapping[BayClass, int]) -> int:
    """How many of `demands` can be given distinct compatible bays at once."""
    need: Counter[Demand] = Counter(d for d in demands if d.accepts)
    kinds = sorted(need, key=Demand.key)
    classes = sorted(c for c, n in supply.items() if n > 0)
    edges = {d: [c for c in classes if serves(c, d)] for d in kinds}
    flow: dict[tuple[Demand, BayClass], int] = {}
    left = {c: supply[c] for c in classes}
    total = 0
    for d in kinds:
        while need[d] > 0:
            pushed = _augment(d, need[d], edges, flow, left)
            if pushed == 0:
                break
            need[d] -= pushed
            total += pushed
    return total


def feasible(demands: Iterable[Demand], supply: Mapping[BayClass, int]) -> bool:
    wanted = list(demands)
    if any(not d.accepts for d in wanted):
        return False
    return max_matched(wanted, supply) == len(wanted)


def _augment(
    start: Demand,
    amount: int,
    edges: Mapping[Demand, list[BayClass]],
    flow: dict[tuple[Demand, BayClass], int],
    left: dict[BayClass, int],
) -> int:
    """One shortest augmenting path from `start`; push as much as it carries."""
    came: dict[BayClass, Demand] = {}
    via: dict[Demand, BayClass | None] = {start: None}
    queue: deque[Demand] = deque([start])
    while queue:
        d = queue.popleft()
        for c in edges[d]:
            if c in came:
                continue
            came[c] = d
            if left[c] > 0:
                return _push(c, amount, came, via, flow, left)
            for (d2, c2), f in flow.items():  # undo a truck's use of c to free it
                if c2 == c and f > 0 and d2 not in via:
                    via[d2] = c
                    queue.append(d2)
    return 0


def _push(
    end: BayClass,
    amount: int,
    came: Mapping[BayClass, Demand],
    via: Mapping[Demand, BayClass | None],
    flow: dict[tuple[Demand, BayClass], int],
    left: dict[BayClass, int],
) -> int:
    path: list[tuple[Demand, BayClass, int]] = []  # (demand, class, +1 forward / -1 back)
    c: BayClass | None = end
    while c is not None:
        d = came[c]
        path.append((d, c, 1))
        back = via[d]
        if back is not None:
            path.append((d, back, -1))
        c = back
    size = min([amount, left[end]] + [flow[(d, c)] for d, c, sign in path if sign < 0])
    for d, c, sign in path:
        flow[(d, c)] = flow.get((d, c), 0) + sign * size
    left[end] -= size
    return size
