"""Which bay each booked truck gets, chosen `lead_s` before its slot and kept while it fits.

A bay is given only if it is free, healthy and enabled (`BayState.AVAILABLE`), on the booking's
plot, with its connector and a reachable inlet side. Among those, bays that reach both sides
are kept for trucks that need them (lowest reach first), and a bay is taken only if the
bookings still to come within `lookahead_s` can all be matched to the remaining free bays.
An assignment is stable (the driver has been told): it changes only when its bay becomes
occupied, faulted, disabled or removed, each change recorded with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.access.bookings import Booking, BookingStatus, Phase
from edge.access.matching import Demand, feasible, fits, supply_of
from edge.sessions import BayState
from edge.siteconf.model import Bay

LEAD_S = 1800.0  # assign 30 min before the slot: the driver is told the bay on the way


@dataclass(frozen=True, slots=True)
class Change:
    """One line of a booking's assignment history."""

    booking: str
    from_bay: str | None
    to_bay: str | None  # None: released or nothing fits
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Plan:
    assignments: Mapping[str, str]  # booking id -> bay id
    changes: tuple[Change, ...]


def demand_of(booking: Booking) -> Demand:
    return Demand(booking.plot, frozenset({booking.need}))


def plan(
    bookings: Sequence[Booking],
    bays: Sequence[Bay],
    states: Mapping[str, BayState],
    current: Mapping[str, str],
    now: float,
    lead_s: float = LEAD_S,
    lookahead_s: float = 7200.0,
) -> Plan:
    """The assignments for `now`, from the `current` ones; `bookings` sorted by start."""
    holding = [b for b in bookings if _holds_bay(b, now)]
    due = [b for b in holding if b.period.start - lead_s <= now]
    due_ids = {b.id for b in due}
    by_id = {b.id: b for b in bookings}
    changes = [
        Change(booking_id, bay_id, None, _released(by_id.get(booking_id)), now)
        for booking_id, bay_id in sorted(current.items())
        if booking_id not in due_ids
    ]
    kept, lost = _keep(due, {b.id: b for b in bays}, states, current)
    later = [
        demand_of(b)
        for b in holding
        if b.id not in due_ids and b.period.start - lead_s <= now + lookahead_s
    ]
    waiting = [b for b in due if b.id not in kept]
    pool = [b for b in bays if states.get(b.id) is BayState.AVAILABLE]
    taken = set(kept.values())
    for i, booking in enumerate(waiting):
        rest = [demand_of(b) for b in waiting[i + 1 :]] + later
        choice, note = _choose(booking, [b for b in pool if b.id not in taken], rest)
        old = current.get(booking.id)
        why = f"{lost[booking.id]}; " if booking.id in lost else ""
        if choice is None:
            changes.append(Change(booking.id, old, None, f"{why}no compatible free bay", now))
            continue
        taken.add(choice.id)
        kept[booking.id] = choice.id
        changes.append(Change(booking.id, old, choice.id, f"{why}assigned{note}", now))
    return Plan(kept, tuple(changes))


def _keep(
    due: Sequence[Booking],
    bays: Mapping[str, Bay],
    states: Mapping[str, BayState],
    current: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Current assignments still usable (kept), and why the others were lost."""
    kept: dict[str, str] = {}
    lost: dict[str, str] = {}
    for booking in due:
        bay_id = current.get(booking.id)
        if bay_id is None:
            continue
        why = _unusable(booking, bays.get(bay_id), states, kept)
        if why is None:
            kept[booking.id] = bay_id
        else:
            lost[booking.id] = why
    return kept, lost


def _released(booking: Booking | None) -> str:
    if booking is None:
        return "released: booking removed"
    if booking.phase.on_site:
        return f"released: truck {booking.phase.value.lower()}"
    if booking.status is not BookingStatus.RESERVED:
        return f"released: booking {booking.status.value.lower()}"
    return "released: no-show timeout passed"


def _holds_bay(booking: Booking, now: float) -> bool:
    """Confirmed and either awaited inside its no-show timeout or admitted, driving in."""
    if booking.status is not BookingStatus.RESERVED:
        return False
    if booking.phase is Phase.ADMITTED:
        return True
    return booking.awaited() and now <= booking.window()[1]


def _unusable(
    booking: Booking, bay: Bay | None, states: Mapping[str, BayState], kept: Mapping[str, str]
) -> str | None:
    if bay is None:
        return "bay removed"
    if not fits(bay, demand_of(booking)):
        return "bay no longer fits the booking"
    if bay.id in kept.values():
        return "bay given twice"
    state = states.get(bay.id)
    if state is BayState.AVAILABLE:
        return None
    if state is not None and state.has_truck:
        return "bay occupied"
    if state is BayState.FAULTED:
        return "bay faulted"
    return "bay disabled"


def _choose(
    booking: Booking, free: Sequence[Bay], rest: Sequence[Demand]
) -> tuple[Bay | None, str]:
    """The least capable fitting bay that keeps the other bookings matchable."""
    need = demand_of(booking)
    fitting = sorted((b for b in free if fits(b, need)), key=lambda b: (len(b.inlet_sides), b.id))
    for bay in fitting:
        others = supply_of(b for b in free if b.id != bay.id)
        if feasible(rest, others):
            return bay, ""
    if fitting:  # due now: better a bay than none, but say later ones are short
        return fitting[0], "; later bookings short of bays"
    return None, ""
