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
from functools import lru_cache

from edge.access.bookings import Need
from edge.sessions import BayState
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


@dataclass(frozen=True, slots=True)
class BayClasses:
    """The site's bays by class, worked out once (bays change only with the site file), so
    that the free supply of a cycle is a count, not a class built per bay."""

    classes: tuple[BayClass, ...]  # distinct
    ids: tuple[str, ...]  # the bays' ids, in order
    index: tuple[int, ...]  # each bay's class, as an index in `classes`

    @classmethod
    def of(cls, bays: Iterable[Bay]) -> BayClasses:
        found: dict[BayClass, int] = {}
        listed = list(bays)
        index = tuple(found.setdefault(bay_class(b), len(found)) for b in listed)
        return cls(tuple(found), tuple(b.id for b in listed), index)

    def free(self, states: Mapping[str, BayState]) -> Counter[BayClass]:
        """The bays whose state is AVAILABLE, by class (`supply_of` the free bays)."""
        free = BayState.AVAILABLE
        counts = Counter(
            k for k, s in zip(self.index, map(states.get, self.ids), strict=True) if s is free
        )
        return Counter({self.classes[k]: n for k, n in counts.items()})


def max_matched(demands: Iterable[Demand], supply: Mapping[BayClass, int]) -> int:
    """How many of `demands` can be given distinct compatible bays at once."""
    return match(Counter(demands), supply).matched


def feasible(demands: Iterable[Demand], supply: Mapping[BayClass, int]) -> bool:
    wanted = list(demands)
    if any(not d.accepts for d in wanted):
        return False
    return max_matched(wanted, supply) == len(wanted)


@dataclass(frozen=True, slots=True)
class Matching:
    """A maximum matching of some trucks (by kind) to free bays (by class), kept so that one
    more truck can be tested against it without matching everyone again."""

    wanted: int  # trucks to match, those that accept nothing included
    matched: int
    edges: Mapping[Demand, list[BayClass]]
    flow: Mapping[tuple[Demand, BayClass], int]
    left: Mapping[BayClass, int]  # bays of each class still free
    supply: Mapping[BayClass, int]  # free bays of each class, matched or not

    @property
    def full(self) -> bool:
        return self.matched == self.wanted

    def fits(self, demand: Demand) -> bool:
        """Is there a free bay for `demand` on its own (ignoring everyone else)?"""
        return any(n > 0 and serves(c, demand) for c, n in self.supply.items())

    def admits(self, demand: Demand) -> bool:
        """Can `demand` be matched too, with everyone matched here kept matched? In a maximum
        matching that is one augmenting path from the newcomer (Berge): the matching grows by
        one or not at all, so the rest need not be matched again."""
        if not demand.accepts:
            return False
        edges = dict(self.edges)
        if demand not in edges:
            edges[demand] = [c for c in sorted(self.left) if serves(c, demand)]
        return _augment(demand, 1, edges, dict(self.flow), dict(self.left)) == 1


def match(need: Mapping[Demand, int], supply: Mapping[BayClass, int]) -> Matching:
    """A maximum matching of `need` (trucks by kind) to `supply` (free bays by class)."""
    kinds = sorted((d for d in need if d.accepts and need[d] > 0), key=Demand.key)
    classes = sorted(c for c, n in supply.items() if n > 0)
    edges = {d: [c for c in classes if serves(c, d)] for d in kinds}
    flow: dict[tuple[Demand, BayClass], int] = {}
    left = {c: supply[c] for c in classes}
    total = 0
    for d in kinds:
        todo = need[d]
        while todo > 0:
            pushed = _augment(d, todo, edges, flow, left)
            if pushed == 0:
                break
            todo -= pushed
            total += pushed
    wanted = sum(n for n in need.values() if n > 0)
    used = {k: f for k, f in flow.items() if f > 0}
    return Matching(wanted, total, edges, used, left, {c: supply[c] for c in classes})


@lru_cache(maxsize=64)
def _cached(
    need: frozenset[tuple[Demand, int]], supply: frozenset[tuple[BayClass, int]]
) -> Matching:
    return match(dict(need), dict(supply))


def matching(need: Mapping[Demand, int], supply: Mapping[BayClass, int]) -> Matching:
    """`match`, remembered: the trucks due and the free bays change far less often than
    trucks arrive, so most arrivals reuse the last matching and only augment it."""
    return _cached(frozenset(need.items()), frozenset(supply.items()))


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
