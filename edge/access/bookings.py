"""Bookings as the hub holds them, and the pure rules that merge cloud updates with site facts.

The fields follow OCPI 2.3 Bookings: `status` is OCPI's `ReservationStatus`, `terms` a subset
of `BookingTerms`, `period` the booked time slot. `phase` is local: what the site has seen of
the truck (OCPI has no such field). Times are UTC epoch seconds, like `edge.sessions`.

Merge rules (`merge`): idempotent by version, an older version never overwrites a newer one, and
a fact observed on site (arrival, admission, departure) wins over an older cloud update: a truck
on site is never marked NO_SHOW, and a cancellation issued before the truck arrived does not
undo the arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from edge.sessions import BookedStay, Estimate, Source
from edge.siteconf.model import Connector, InletSide

Need = tuple[Connector, InletSide]  # one (connector, inlet side) pair a truck can charge with
MAX_EARLY_START_S = 86_400.0  # a booked window opens at most a day early (bounds searches)
MAX_NOSHOW_S = 86_400.0  # ... and lapses at most a day after its start


class BookingInvalid(ValueError):
    """A booking that must be quarantined, never applied."""


class IllegalPhase(ValueError):
    """A phase event that the booking's current phase does not allow; nothing changed."""


class BookingStatus(StrEnum):
    """OCPI 2.3 ReservationStatus (the subset the hub acts on)."""

    PENDING = "PENDING"
    RESERVED = "RESERVED"
    CANCELED = "CANCELED"
    NO_SHOW = "NO_SHOW"
    FULFILLED = "FULFILLED"

    @property
    def final(self) -> bool:
        return self in (BookingStatus.CANCELED, BookingStatus.NO_SHOW, BookingStatus.FULFILLED)


class Phase(StrEnum):
    """What the site has observed of the booked truck (local, not in OCPI)."""

    SCHEDULED = "SCHEDULED"
    ASSIGNED = "ASSIGNED"
    ADMITTED = "ADMITTED"
    ON_BAY = "ON_BAY"
    CHARGING = "CHARGING"
    OVERSTAY = "OVERSTAY"
    DEPARTED = "DEPARTED"

    @property
    def on_site(self) -> bool:
        """The truck has been seen on site: an observed fact the cloud cannot undo."""
        return self not in (Phase.SCHEDULED, Phase.ASSIGNED)


class PhaseEvent(StrEnum):
    ASSIGN = "assign"  # a bay was chosen (or changed: ASSIGNED -> ASSIGNED)
    UNASSIGN = "unassign"  # no bay fits any more
    ADMIT = "admit"  # the entry gate let the truck in
    PARK = "park"  # the bay's sensor or charger sees the truck
    CHARGE = "charge"  # a session started with the booking's token
    OVERSTAY = "overstay"  # still on the bay after end + late stop
    DEPART = "depart"  # exit read or bay free after being on it


# The phase machine as a table (h11 style): an event not listed for a phase is illegal.
PHASES: dict[Phase, dict[PhaseEvent, Phase]] = {
    Phase.SCHEDULED: {
        PhaseEvent.ASSIGN: Phase.ASSIGNED,
        PhaseEvent.ADMIT: Phase.ADMITTED,
    },
    Phase.ASSIGNED: {
        PhaseEvent.ASSIGN: Phase.ASSIGNED,
        PhaseEvent.UNASSIGN: Phase.SCHEDULED,
        PhaseEvent.ADMIT: Phase.ADMITTED,
    },
    Phase.ADMITTED: {
        PhaseEvent.ASSIGN: Phase.ADMITTED,  # reassigned while driving to the bay
        PhaseEvent.PARK: Phase.ON_BAY,
        PhaseEvent.DEPART: Phase.DEPARTED,
    },
    Phase.ON_BAY: {
        PhaseEvent.CHARGE: Phase.CHARGING,
        PhaseEvent.OVERSTAY: Phase.OVERSTAY,
        PhaseEvent.DEPART: Phase.DEPARTED,
    },
    Phase.CHARGING: {
        PhaseEvent.OVERSTAY: Phase.OVERSTAY,
        PhaseEvent.DEPART: Phase.DEPARTED,
    },
    Phase.OVERSTAY: {PhaseEvent.DEPART: Phase.DEPARTED},
    Phase.DEPARTED: {},
}


@dataclass(frozen=True, slots=True)
class Period:
    start: float  # UTC epoch seconds
    end: float


@dataclass(frozen=True, slots=True)
class Terms:
    """OCPI BookingTerms, in seconds."""

    early_start_s: float = 0.0  # how long before `start` the booked window opens
    noshow_timeout_s: float = 900.0  # after `start`: no arrival by then is a no-show
    late_stop_s: float = 0.0  # after `end`: a truck still on its bay is overstaying


@dataclass(frozen=True, slots=True)
class Credentials:
    """What may identify the booked truck at the gate (OCPI access_information/tokens)."""

    tractor_plate: str | None = None  # as given; matched in normalised form
    trailer_plate: str | None = None  # a rear camera at the exit reads this one
    qr_nonce: str | None = None  # hex nonce of the signed QR token currently issued
    rfid_uid: str | None = None

    def plates(self) -> tuple[str, ...]:
        return tuple(p for p in (self.tractor_plate, self.trailer_plate) if p)


@dataclass(frozen=True, slots=True)
class Booking:
    id: str
    version: int  # the cloud's revision; higher wins
    period: Period
    connector: Connector
    inlet_side: InletSide
    plot: str | None  # None: any plot of the site
    credentials: Credentials
    terms: Terms = Terms()
    status: BookingStatus = BookingStatus.RESERVED
    phase: Phase = Phase.SCHEDULED
    phase_at: float | None = None  # when the last on-site fact was observed
    updated_at: float = 0.0  # cloud's last_updated of this version
    energy_wanted_wh: float | None = None  # what the driver asked for, if anything

    @property
    def need(self) -> Need:
        return (self.connector, self.inlet_side)

    def window(self) -> tuple[float, float]:
        """The booked gate window: automated admission with priority inside it."""
        start = self.period.start
        return (start - self.terms.early_start_s, start + self.terms.noshow_timeout_s)

    def in_window(self, now: float) -> bool:
        opens, closes = self.window()
        return opens <= now <= closes

    def awaited(self) -> bool:
        """Confirmed and not yet on site: it needs a bay kept for it."""
        return self.status is BookingStatus.RESERVED and not self.phase.on_site

    def live(self) -> bool:
        """Its credentials still mean something: still to come, or its truck inside whatever
        the status (a charged truck's booking is FULFILLED; its plates must match at exit)."""
        inside = self.phase.on_site and self.phase is not Phase.DEPARTED
        return inside or not self.status.final


def booked_stay(booking: Booking) -> BookedStay:
    """What a booking tells the session model (`edge.sessions.with_booking`): the energy
    wanted (None: the site's default applies) and the departure (the booked end)."""
    energy = booking.energy_wanted_wh
    wanted = None if energy is None else Estimate(energy, Source.BOOKING)
    return BookedStay(booking.id, wanted, Estimate(booking.period.end, Source.BOOKING))


# The phases in which a truck on the booking's bay is taken for the booked one, as
# `occupancy.site_fact` takes a truck on an admitted booking's bay for its PARK.
ON_ITS_BAY = frozenset({Phase.ADMITTED, Phase.ON_BAY, Phase.CHARGING, Phase.OVERSTAY})


def stays_by_bay(
    bookings: Iterable[Booking], bay_of: Callable[[str], str | None]
) -> dict[str, BookedStay]:
    """The booked trucks on their bays (or admitted and on the way), by bay: what the power
    controller takes for the sessions there, instead of the site's defaults."""
    out: dict[str, BookedStay] = {}
    for b in bookings:
        if b.phase in ON_ITS_BAY and (bay := bay_of(b.id)) is not None:
            out[bay] = booked_stay(b)
    return out


def validate(booking: Booking) -> Booking:
    """Check a booking at ingest; raise BookingInvalid naming the field."""
    where = f"booking {booking.id!r}"
    if not booking.id or len(booking.id) > 64:
        raise BookingInvalid(f"{where}: id must be 1-64 characters")
    if booking.version < 0:
        raise BookingInvalid(f"{where}: version must be >= 0, got {booking.version}")
    if not booking.period.end > booking.period.start:
        raise BookingInvalid(f"{where}: period end must be after start")
    terms = booking.terms
    if min(terms.early_start_s, terms.noshow_timeout_s, terms.late_stop_s) < 0:
        raise BookingInvalid(f"{where}: terms must not be negative")
    if terms.early_start_s > MAX_EARLY_START_S or terms.noshow_timeout_s > MAX_NOSHOW_S:
        raise BookingInvalid(f"{where}: early start and no-show timeout must be <= 1 day")
    creds = booking.credentials
    if booking.energy_wanted_wh is not None and booking.energy_wanted_wh <= 0:
        raise BookingInvalid(f"{where}: energy wanted must be > 0 Wh")
    if not (creds.plates() or creds.qr_nonce or creds.rfid_uid):
        raise BookingInvalid(f"{where}: no credential (plate, QR or RFID)")
    return booking


def observe(booking: Booking, event: PhaseEvent, now: float) -> Booking:
    """Apply a site fact; raise IllegalPhase (booking unchanged) if the table forbids it."""
    nxt = PHASES[booking.phase].get(event)
    if nxt is None:
        raise IllegalPhase(f"booking {booking.id}: {event} not allowed in phase {booking.phase}")
    status = booking.status
    if event is PhaseEvent.CHARGE:
        status = BookingStatus.FULFILLED  # OCPI: session started with the booking's token
    at = now if nxt.on_site else booking.phase_at
    return replace(booking, phase=nxt, status=status, phase_at=at)


def prunable(booking: Booking, now: float, keep_s: float) -> bool:
    """Over and done for longer than `keep_s`: departed, or cancelled / no-show with no truck
    on site; counted from its last fact (slot end, cloud update, site observation). The audit
    log keeps every decision about it; only the booking row goes."""
    inside = booking.phase.on_site and booking.phase is not Phase.DEPARTED
    over = booking.phase is Phase.DEPARTED or (
        booking.status in (BookingStatus.CANCELED, BookingStatus.NO_SHOW) and not inside
    )
    last = max(booking.period.end, booking.updated_at, booking.phase_at or 0.0)
    return over and now - last >= keep_s


def expire(booking: Booking, now: float) -> Booking:
    """NO_SHOW once the no-show timeout passed with no arrival (never for a truck on site)."""
    if booking.awaited() and now > booking.window()[1]:
        return replace(booking, status=BookingStatus.NO_SHOW)
    return booking


class MergeOutcome(StrEnum):
    CREATED = "created"
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same version again: idempotent
    STALE = "stale"  # older version: ignored
    FACT_KEPT = "fact-kept"  # applied, but the site's fact overrode the cloud's status


@dataclass(frozen=True, slots=True)
class Merge:
    booking: Booking
    outcome: MergeOutcome


def merge(local: Booking | None, incoming: Booking) -> Merge:
    """Merge a cloud version into the local record (`incoming` validated by the caller)."""
    if local is None:
        return Merge(replace(incoming, phase=Phase.SCHEDULED, phase_at=None), MergeOutcome.CREATED)
    if incoming.version < local.version:
        return Merge(local, MergeOutcome.STALE)
    if incoming.version == local.version:
        return Merge(local, MergeOutcome.DUPLICATE)
    # The phase is the site's own: the cloud never moves it.
    merged = replace(incoming, phase=local.phase, phase_at=local.phase_at)
    if _fact_wins(local, incoming):
        return Merge(replace(merged, status=local.status), MergeOutcome.FACT_KEPT)
    return Merge(merged, MergeOutcome.APPLIED)


def _fact_wins(local: Booking, incoming: Booking) -> bool:
    if not local.phase.on_site or local.phase_at is None:
        return False
    if incoming.status is BookingStatus.NO_SHOW:
        return True  # the truck is (or was) here: it showed
    if incoming.status is BookingStatus.CANCELED:
        return incoming.updated_at <= local.phase_at  # cancelled before it arrived: too late
    # A session started with the token (FULFILLED) is a fact; an edit does not undo it.
    return local.status is BookingStatus.FULFILLED
