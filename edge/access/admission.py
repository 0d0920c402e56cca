"""Who may enter now: booked trucks in their window; others only if booked trucks keep a bay.

An ad-hoc or early truck is admitted only if every booked truck due within the protection
horizon (now + the newcomer's expected dwell + a margin), every truck admitted but not yet on
its bay, and the newcomer can all be matched to distinct compatible free bays at once
(`edge.access.matching`). Only electric trucks enter; anything else is referred to staff.

Every decision carries a reason code (after OCPP's AuthorizationStatus) and the inputs it used,
for the audit log and `events/admission`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from edge.access.bookings import Booking, BookingStatus, Need
from edge.access.due import DueIndex, demand_of, due_scan
from edge.access.matching import BayClasses, Demand, Matching, matching
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide


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
    # What the reader or the cloud said of an unbooked truck that did not declare a `demand`:
    # each one given narrows the policy's `ad_hoc_needs`; each one missing stays open.
    connector: Connector | None = None
    inlet_side: InletSide | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    margin_s: float = 900.0  # added to the newcomer's dwell for the protection horizon
    time_trusted: bool = True  # False after a clock step / no sync: no automatic windows
    # What an unbooked truck that declared nothing may need, each one possible: it is
    # admitted only if a bay fits whichever of them it turns out to be. Empty: referred.
    ad_hoc_needs: tuple[Need, ...] = ()


def needs_for(connectors: Iterable[Connector]) -> tuple[Need, ...]:
    """The needs of a truck with one of `connectors` and its inlet on a side not known."""
    return tuple((c, s) for c in connectors for s in (InletSide.LEFT, InletSide.RIGHT))


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
    needs: tuple[Need, ...] = ()  # what the newcomer was checked for (each had to fit)


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
    # `bookings` indexed (`DueIndex.build`), built once per version of the bookings; None:
    # the due trucks are found by a pass over `bookings` (same answer, slower).
    due: DueIndex | None = None
    classes: BayClasses | None = None  # `BayClasses.of(bays)`, built once; None: built here


def by_start(bookings: Sequence[Booking]) -> tuple[Booking, ...]:
    return tuple(sorted(bookings, key=lambda b: (b.period.start, b.id)))


def decide(site: Site, arrival: Arrival, now: float, policy: Policy = Policy()) -> Decision:
    arrival = _with_demand(arrival)
    horizon = now + max(arrival.dwell_s, 0.0) + policy.margin_s
    free = (site.classes or BayClasses.of(site.bays)).free(site.states)
    own = arrival.booking
    due = _due(site, own, now, horizon)
    possible = _possible(arrival, policy)
    inputs = Inputs(
        now=now,
        booking_id=own.id if own else None,
        booking_version=own.version if own else None,
        vehicle=arrival.vehicle.value,
        via=arrival.via.value,
        horizon_end=horizon,
        booked_due=due.total(),
        in_transit=len(site.in_transit),
        free_bays=free.total(),
        needs=tuple(sorted({n for d in possible for n in d.accepts})),
    )
    early = _screen(arrival, now, policy, possible)
    if early is not None:
        return Decision(early[0], early[1], inputs)
    if own is not None and own.awaited() and own.in_window(now):
        return Decision(Reason.ACCEPTED, "booked, inside its window", inputs)
    base = matching(due + Counter(site.in_transit), free)
    return _ad_hoc(arrival, now, possible, base, inputs)


def _due(site: Site, own: Booking | None, now: float, horizon: float) -> Counter[Demand]:
    """The booked trucks that keep a bay, by demand, the arriving truck's own booking aside."""
    own_id = own.id if own is not None else None
    if site.due is None or horizon < now:
        scan = due_scan(site.bookings, now, horizon)
        return Counter(demand_of(b) for b in scan if b.id != own_id)
    return site.due.count(now, horizon, own_id)


def _with_demand(arrival: Arrival) -> Arrival:
    """A booked truck needs what its booking says; a truck goes to its lane's plot."""
    demand = arrival.demand
    if demand is None and arrival.booking is not None:
        demand = Demand(arrival.booking.plot, frozenset({arrival.booking.need}))
    if demand is not None and demand.plot is None:
        demand = Demand(arrival.lane_plot, demand.accepts)
    return replace(arrival, demand=demand)


def _screen(
    arrival: Arrival, now: float, policy: Policy, possible: list[Demand]
) -> tuple[Reason, str] | None:
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
    if not possible:
        return (Reason.REFERRED, "connector and inlet side unknown")
    return None


def _ad_hoc(
    arrival: Arrival, now: float, possible: list[Demand], base: Matching, inputs: Inputs
) -> Decision:
    """Room for the newcomer, whichever of `possible` it turns out to need, on top of the
    (remembered) matching of the booked and admitted trucks to the free bays."""
    booking = arrival.booking
    refusal = Reason.FULL
    if booking is not None and (booking.status.final or now > booking.window()[1]):
        refusal = Reason.EXPIRED
    elif booking is not None and booking.awaited() and now < booking.window()[0]:
        refusal = Reason.NOT_AT_THIS_TIME
    for demand in possible:  # every one must fit (robust)
        if not base.fits(demand):
            return Decision(refusal, f"no compatible free bay{_for(arrival, demand)}", inputs)
        if not (base.full and base.admits(demand)):
            why = "would leave a booked or admitted truck without a bay"
            return Decision(refusal, why + _for(arrival, demand), inputs)
    how = "early for its booking" if refusal is Reason.NOT_AT_THIS_TIME else "ad hoc"
    if not _declared(arrival):
        how += f" (inlet not declared: fits {_needs(inputs.needs)})"
    return Decision(Reason.ACCEPTED, f"{how}; booked trucks keep their bays", inputs)


def _possible(arrival: Arrival, policy: Policy) -> list[Demand]:
    """What the newcomer needs: what it declared (or its booking says), or else each need it
    may have: the policy's, narrowed by what the reader or cloud said of it."""
    if arrival.demand is not None and arrival.demand.accepts:
        return [arrival.demand]
    if arrival.booking is not None:
        return []
    needs = policy.ad_hoc_needs
    if arrival.connector is not None:
        needs = needs_for([arrival.connector])
    if arrival.inlet_side is not None:
        needs = tuple(dict.fromkeys((c, arrival.inlet_side) for c, _ in needs))
    return [Demand(arrival.lane_plot, frozenset({need})) for need in needs]


def _declared(arrival: Arrival) -> bool:
    """Its need is known: from its booking, asked at the gate, or said by the reader."""
    if arrival.booking is not None or (arrival.demand is not None and arrival.demand.accepts):
        return True
    return arrival.connector is not None and arrival.inlet_side is not None


def _for(arrival: Arrival, demand: Demand) -> str:
    """Which of the possible needs failed, when the truck's need is not known."""
    return "" if _declared(arrival) else f" for {_needs(demand.accepts)} (inlet not declared)"


def _needs(needs: Iterable[Need]) -> str:
    return ", ".join(f"{c}/{s}" for c, s in sorted(needs))
