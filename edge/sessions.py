"""The session model shared by power sharing and site access: plain types, no behaviour.

Power sharing (`edge/power/`) reads a bay's `BayState` and its `Session` to decide how much
it gets; site access (`edge/access/`) fills in what a booking knows (kind, energy wanted,
departure), and the truck itself what it asks for over ISO 15118 (energy wanted, departure).
Each estimate carries where it came from, so the operator can see whether a departure is
the truck's, a driver's booking or the site's default for a 45-minute break; a less trusted
source never overwrites a more trusted one.

Units: energy in Wh, times in UTC wall-clock seconds (epoch), powers in W.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class BayState(StrEnum):
    """A bay's state, after OCPP's connector states (1.6 ChargePointStatus)."""

    AVAILABLE = "available"  # free, healthy, enabled
    OCCUPIED = "occupied"  # a truck is on the bay, not (yet) charging (OCPP Preparing)
    CHARGING = "charging"
    SUSPENDED_EV = "suspended-ev"  # the truck takes nothing (full, or its BMS pauses)
    SUSPENDED_EVSE = "suspended-evse"  # the charger gives nothing (limit 0 or paused by us)
    FINISHING = "finishing"  # the session ended, the truck is still plugged in / on the bay
    FAULTED = "faulted"
    UNAVAILABLE = "unavailable"  # disabled by a technician or the cloud, or not reachable

    @property
    def has_truck(self) -> bool:
        return self in _WITH_TRUCK

    @property
    def in_session(self) -> bool:
        """A charging session is open: the bay may draw power this period."""
        return self in _IN_SESSION


_WITH_TRUCK = frozenset(
    {
        BayState.OCCUPIED,
        BayState.CHARGING,
        BayState.SUSPENDED_EV,
        BayState.SUSPENDED_EVSE,
        BayState.FINISHING,
    }
)
_IN_SESSION = frozenset({BayState.CHARGING, BayState.SUSPENDED_EV, BayState.SUSPENDED_EVSE})


class SessionKind(StrEnum):
    BREAK = "break"  # a 45-minute legal break: must leave with as much as possible
    OVERNIGHT = "overnight"  # long stay: may charge slowly and soak up solar and wind
    BOOKED = "booked"  # a booking says when the truck leaves and what it wants


class Source(StrEnum):
    """Where an estimate came from, most trusted first."""

    VEHICLE = "vehicle"  # reported by the truck (ISO 15118 / charger) during the session
    BOOKING = "booking"  # given by the driver in a booking
    OPERATOR = "operator"  # set by a technician or the cloud for this session
    DEFAULT = "default"  # the site's `[sessions]` default for this kind


@dataclass(frozen=True, slots=True)
class Estimate:
    value: float
    source: Source


@dataclass(frozen=True, slots=True)
class Session:
    """One truck's stay on one bay, as far as it is known now."""

    bay: str
    start: float  # UTC epoch seconds when the truck plugged in (or the session opened)
    kind: SessionKind
    energy_delivered_wh: float
    energy_wanted_wh: Estimate  # total for the session, not what remains
    departure: Estimate  # UTC epoch seconds
    booking: str | None = None  # the booking id, when the session is booked

    def energy_remaining_wh(self) -> float:
        return max(0.0, self.energy_wanted_wh.value - self.energy_delivered_wh)

    def slack_s(self, now: float, max_power_w: float) -> float:
        """Seconds to spare before departure if the bay charged at `max_power_w` from now;
        negative: the truck cannot get what it wants even at full power."""
        if max_power_w <= 0:
            return float("-inf") if self.energy_remaining_wh() > 0 else self.departure.value - now
        needed_s = self.energy_remaining_wh() * 3600.0 / max_power_w
        return self.departure.value - now - needed_s


@dataclass(frozen=True, slots=True)
class BookedStay:
    """What a booking says of the truck on a bay (site access fills it in, by bay)."""

    booking: str
    energy_wanted_wh: Estimate | None  # None: the booking names no energy, the default stays
    departure: Estimate  # the booked end


def _trust(source: Source) -> int:
    return list(Source).index(source)  # Source lists the most trusted first


def with_booking(session: Session, stay: BookedStay) -> Session:
    """The session once its truck is known to be `stay`'s: booked, with the booking's
    estimates wherever nothing more trusted (the vehicle, an operator) has spoken."""

    def pick(old: Estimate, new: Estimate | None) -> Estimate:
        return new if new is not None and _trust(new.source) <= _trust(old.source) else old

    return replace(
        session,
        kind=SessionKind.BOOKED,
        energy_wanted_wh=pick(session.energy_wanted_wh, stay.energy_wanted_wh),
        departure=pick(session.departure, stay.departure),
        booking=stay.booking,
    )


def with_vehicle(
    session: Session, energy_wanted_wh: float | None, departure: float | None
) -> Session:
    """The session with what its truck asked for (ISO 15118, through the charger): the
    energy it wants for the session from plug-in (a total, as `energy_wanted_wh` is) and its
    departure (UTC epoch s), each where given. The vehicle is the most trusted source: its
    figures replace any other, and later bookings keep them (`with_booking`). The kind stays."""

    def told(old: Estimate, value: float | None) -> Estimate:
        return old if value is None else Estimate(value, Source.VEHICLE)

    return replace(
        session,
        energy_wanted_wh=told(session.energy_wanted_wh, energy_wanted_wh),
        departure=told(session.departure, departure),
    )
