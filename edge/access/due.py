"""Which booked trucks must keep a bay for a horizon, counted by what they need.

A booked truck is due when it was admitted and is not yet on its bay, or when it is awaited
(confirmed, not on site) and its gate window opens before the horizon and has not lapsed.
`due_scan` is the straightforward pass over the bookings (sorted by start). `DueIndex` is
built once per version of the bookings and answers the same question for any (now, horizon)
with two binary searches per kind of truck instead of a pass over a thousand bookings: the
awaited trucks whose window opens by the horizon, less those whose window closed before now
(a window that closed before now opened before it, hence before the horizon).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from edge.access.bookings import MAX_EARLY_START_S, Booking, Phase
from edge.access.matching import Demand


def demand_of(booking: Booking) -> Demand:
    return Demand(booking.plot, frozenset({booking.need}))


def admitted(b: Booking) -> bool:
    """Let in at the gate, not yet seen on its bay: its bay is kept through its booking."""
    return b.phase is Phase.ADMITTED and not b.status.final


def awaited_by(b: Booking, now: float, horizon: float) -> bool:
    """Awaited, its window open before the horizon and not lapsed (and within the search
    bound validate() gives the early start)."""
    opens, closes = b.window()
    in_bound = b.period.start - MAX_EARLY_START_S <= horizon
    return in_bound and opens <= horizon and closes >= now and b.awaited()


def is_due(b: Booking, now: float, horizon: float) -> bool:
    return admitted(b) or awaited_by(b, now, horizon)


def due_scan(bookings: Sequence[Booking], now: float, horizon: float) -> list[Booking]:
    """The due trucks by a pass over `bookings` (sorted by start): admitted ones first."""
    out = [b for b in bookings if admitted(b)]
    for b in bookings:  # sorted by start; validate() bounds early_start, so stop past it
        if b.period.start - MAX_EARLY_START_S > horizon:
            break
        if awaited_by(b, now, horizon):
            out.append(b)
    return out


@dataclass(frozen=True, slots=True)
class DueIndex:
    """The due trucks' demands for any (now, horizon), from bookings indexed once."""

    admitted: Mapping[Demand, int]
    opens: Mapping[Demand, list[float]]  # awaited trucks' window opening times, sorted
    closes: Mapping[Demand, list[float]]  # ... and closing times, sorted
    irregular: tuple[Booking, ...]  # awaited, with terms validate() refuses: checked one by one
    by_id: Mapping[str, Booking]  # the admitted and awaited ones

    @classmethod
    def build(cls, bookings: Iterable[Booking]) -> DueIndex:
        kinds: dict[Demand, Demand] = {}  # one object per kind: cheap hashing later
        done: Counter[Demand] = Counter()
        opens: dict[Demand, list[float]] = {}
        closes: dict[Demand, list[float]] = {}
        odd: list[Booking] = []
        by_id: dict[str, Booking] = {}
        for b in bookings:
            d = kinds.setdefault(demand_of(b), demand_of(b))
            if admitted(b) or b.awaited():
                by_id[b.id] = b
            if admitted(b):
                done[d] += 1
            elif b.awaited():
                start, end = b.window()
                if not 0 <= b.terms.early_start_s <= MAX_EARLY_START_S or end < start:
                    odd.append(b)
                    continue
                opens.setdefault(d, []).append(start)
                closes.setdefault(d, []).append(end)
        for times in (*opens.values(), *closes.values()):
            times.sort()
        return cls(dict(done), opens, closes, tuple(odd), by_id)

    def count(self, now: float, horizon: float, without: str | None = None) -> Counter[Demand]:
        """The due trucks by demand, booking `without` aside (the arriving truck's own); the
        same counts as `due_scan` for any now <= horizon."""
        assert now <= horizon, "a horizon ends after now"
        out: Counter[Demand] = Counter(self.admitted)
        for d, opens in self.opens.items():
            n = bisect_right(opens, horizon) - bisect_left(self.closes[d], now)
            if n > 0:
                out[d] += n
        for b in self.irregular:
            if awaited_by(b, now, horizon):
                out[demand_of(b)] += 1
        own = self.by_id.get(without) if without is not None else None
        if own is not None and is_due(own, now, horizon):
            out[demand_of(own)] -= 1
        return +out
