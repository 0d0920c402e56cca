"""Who may enter now: booked trucks in their window; others only if booked trucks keep a bay.

An ad-hoc or early truck is admitted only if every booked truck due within the protection
horizon (now + the newcomer's expected dwell + a margin), every truck admitted but not yet on
its bay, and the newcomer can all be matched to distinct compatible free bays at once
(`edge.access.matching`). Only electric trucks enter; anything else is referred to staff.

Every decision carries a reason code (after OCPP's AuthorizationStatus) and the inputs it used,
for the audit log and `events/admission`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from edge.access.bookings import MAX_EARLY_START_S, Booking, BookingStatus, Need, Phase
from edge.access.matching import Demand, feasible, supply_of
from edge.sessions import BayState
from edge.siteconf.model import Bay


class Reason(StrEnum):
    ACCEPTED = "Accepted"
    NOT_AT_THIS_TIME = "NotAtThisTime"  # early, and admitting now would cost a booked truck
    FULL = "Full"  # no compatible bay left for it without taking a booked truck's
    BLOCKED = "Blocked"  # blocklisted, or a strong credential already inside (anti-passback)
    EXPIRED = "Expired"  # its booking's window passed (or ended as no-show) and no room
    INVALID = "Invalid"  # cancelled booking, bad credential
    REFERRED = "Referred"  # staff decides: not an electric truck, plate-only passback, no time


class VehicleClass(StrEnum):
    ELECTRIC_TRUCK = "electric-truck"
    TRUCK = "truck"  # a truck whose drive is not known to be electric
    OTHER = "other"  # car, van, bus...
    UNKNOWN = "unknown"


class Via(StrEnum):
    """The credential that identified the truck: how strongly it proves who it is."""

    PLATE = "plate"  # can be cloned: a second entry is referred, not refused outright
    QR = "qr"
    RFID = "rfid"
    NONE = "none"  # ad hoc: not identified


@dataclass(frozen=True, slots=True)
class Arrival:
    """A truck at an entry lane, as identification found it."""

    lane_plot: str
    vehicle: VehicleClass
    via: Via
    booking: Booking | None  # the booking its credential matched, if any
    demand: Demand | None  # what it can charge with (from its booking or asked at the gate)
    dwell_s: float  # expected stay (break, overnight, booking)
    inside: bool = False  # anti-passback: this credential is already on site
    blocked: bool = False  # on the site's blocklist


@dataclass(frozen=True, slots=True)
class Policy:
    margin_s: float = 900.0  # added to the newcomer's dwell for the protection horizon
    time_trusted: bool = True  # False after a clock step / no sync: no automatic windows
    # What an unbooked truck that declared nothing may need, each one possible: it is
    # admitted only if a bay fits whichever of them it turns out to be. Empty: referred.
    ad_hoc_needs: tuple[Need, ...] = ()


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the decision used, for the audit record."""

    now: float
    booking_id: str | None
    booking_version: int | None
    vehicle: str
    via: str
    horizon_end: float
    booked_due: int  # booked trucks that must keep a bay
    in_transit: int  # admitted, not yet on a bay
    free_bays: int


@dataclass(frozen=True, slots=True)
class Decision:
    reason: Reason
    detail: str
    inputs: Inputs

    @property
    def admitted(self) -> bool:
        return self.reason is Reason.ACCEPTED


@dataclass(frozen=True, slots=True)
class Site:
    """The snapshot admission decides on; build it once per cycle."""

    bays: Sequence[Bay]
    states: Mapping[str, BayState]  # bay id -> state; missing means not usable
    bookings: Sequence[Booking]  # sorted by period.start (`by_start`)
    in_transit: Sequence[Demand] = ()  # ad-hoc trucks admitted, still driving to a bay


def by_start(bookings: Sequence[Booking]) -> tuple[Booking, ...]:
    return tuple(sorted(bookings, key=lambda b: (b.period.start, b.id)))


def decide(site: Site, arrival: Arrival, now: float, policy: Policy = Policy()) -> Decision:
    arrival = _with_demand(arrival)
    horizon = now + max(arrival.dwell_s, 0.0) + policy.margin_s
    free = [b for b in site.bays if site.states.get(b.id) is BayState.AVAILABLE]
    own = arrival.booking.id if arrival.booking else None
    due = [d for d in _due(site.bookings, now, horizon) if d.id != own]
    inputs = Inputs(
        now=now,
        booking_id=own,
        booking_version=arrival.booking.version if arrival.booking else None,
        vehicle=arrival.vehicle.value,
        via=arrival.via.value,
        horizon_end=horizon,
        booked_due=len(due),
        in_transit=len(site.in_transit),
        free_bays=len(free),
    )
    early = _screen(arrival, now, policy)
    if early is not None:
        return Decision(early[0], early[1], inputs)
    booking = arrival.booking
    if booking is not None and booking.awaited() and booking.in_window(now):
        return Decision(Reason.ACCEPTED, "booked, inside its window", inputs)
    return _ad_hoc(arrival, now, due, free, site.in_transit, inputs, policy)


def _with_demand(arrival: Arrival) -> Arrival:
    """A booked truck needs what its booking says; a truck goes to its lane's plot."""
    demand = arrival.demand
    if demand is None and arrival.booking is not None:
        demand = Demand(arrival.booking.plot, frozenset({arrival.booking.need}))
    if demand is not None and demand.plot is None:
        demand = Demand(arrival.lane_plot, demand.accepts)
    return replace(arrival, demand=demand)


def _screen(arrival: Arrival, now: float, policy: Policy) -> tuple[Reason, str] | None:
    """The checks that come before any capacity question, most serious first."""
    if arrival.blocked:
        return (Reason.BLOCKED, "on the blocklist")
    if arrival.vehicle is not VehicleClass.ELECTRIC_TRUCK:
        return (Reason.REFERRED, f"vehicle class {arrival.vehicle}: only electric trucks")
    if arrival.inside:
        if arrival.via is Via.PLATE:
            return (Reason.REFERRED, "plate already inside: possible cloned plate")
        return (Reason.BLOCKED, f"{arrival.via} credential already inside (anti-passback)")
    booking = arrival.booking
    if booking is not None and booking.status is BookingStatus.CANCELED:
        return (Reason.INVALID, "booking cancelled")
    if booking is not None and booking.in_window(now) and not policy.time_trusted:
        return (Reason.REFERRED, "clock not trusted: booked windows need staff")
    assumed = arrival.booking is None and bool(policy.ad_hoc_needs)
    if (arrival.demand is None or not arrival.demand.accepts) and not assumed:
        return (Reason.REFERRED, "connector and inlet side unknown")
    return None


def _ad_hoc(
    arrival: Arrival,
    now: float,
    due: list[Booking],
    free: list[Bay],
    in_transit: Sequence[Demand],
    inputs: Inputs,
    policy: Policy,
) -> Decision:
    booking = arrival.booking
    refusal = Reason.FULL
    if booking is not None and (booking.status.final or now > booking.window()[1]):
        refusal = Reason.EXPIRED
    elif booking is not None and booking.awaited() and now < booking.window()[0]:
        refusal = Reason.NOT_AT_THIS_TIME
    supply = supply_of(free)
    kept = [Demand(b.plot, frozenset({b.need})) for b in due]
    for demand in _possible(arrival, policy):  # every one must fit (robust)
        if not feasible([demand], supply):
            return Decision(refusal, "no compatible free bay", inputs)
        if not feasible([*kept, *in_transit, demand], supply):
            why = "would leave a booked or admitted truck without a bay"
            return Decision(refusal, why, inputs)
    how = "early for its booking" if refusal is Reason.NOT_AT_THIS_TIME else "ad hoc"
    return Decision(Reason.ACCEPTED, f"{how}; booked trucks keep their bays", inputs)


def _possible(arrival: Arrival, policy: Policy) -> list[Demand]:
    """What the newcomer needs: what it declared, or each need an undeclared truck may have."""
    if arrival.demand is not None and arrival.demand.accepts:
        return [arrival.demand]
    return [Demand(arrival.lane_plot, frozenset({need})) for need in policy.ad_hoc_needs]


def _due(bookings: Sequence[Booking], now: float, horizon: float) -> list[Booking]:
    """Booked trucks admitted but not yet on their bay, and those not on site whose window
    opens before the horizon and has not lapsed."""
    out = [b for b in bookings if b.phase is Phase.ADMITTED and not b.status.final]
    for b in bookings:  # sorted by start; validate() bounds early_start, so stop past it
        if b.period.start - MAX_EARLY_START_S > horizon:
            break
        opens, closes = b.window()
        if opens <= horizon and closes >= now and b.awaited():
            out.append(b)
    return out
