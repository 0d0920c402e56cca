"""What a bay's observed state tells about a booked truck: parked, charging, overstaying, gone.

Occupancy comes from the bay's sensor and its charger port's states (`BayState`, OCPP-like);
the shell passes only what it has observed (a bay with no observation gives no fact). The
overstay rule follows the FAQ: once charged, move on. A truck still on its bay after its
charge ended, past the booking's end plus its late-stop term, is overstaying.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from edge.access.bookings import Booking, Phase, PhaseEvent
from edge.sessions import BayState


def bay_states(
    bays: Iterable[str], unavailable: Iterable[str], observed: Mapping[str, BayState]
) -> dict[str, BayState]:
    """Each bay's state for assignment: out of service beats anything observed; a bay with
    no observation is taken as free."""
    out = {bay: observed.get(bay, BayState.AVAILABLE) for bay in bays}
    for bay in unavailable:
        if bay in out and not out[bay].has_truck:
            out[bay] = BayState.UNAVAILABLE
    return out


def overstaying(booking: Booking, state: BayState, now: float) -> bool:
    """On its bay, not charging, and past its end plus late stop."""
    if booking.phase not in (Phase.ON_BAY, Phase.CHARGING) or not state.has_truck:
        return False
    if state is BayState.CHARGING:
        return False
    return now > booking.period.end + booking.terms.late_stop_s


def site_fact(booking: Booking, state: BayState | None, now: float) -> PhaseEvent | None:
    """The phase event the bay's observed state implies for this booking, if any."""
    if state is None:
        return None
    phase = booking.phase
    if phase is Phase.ADMITTED:
        return PhaseEvent.PARK if state.has_truck else None
    if phase in (Phase.ON_BAY, Phase.CHARGING, Phase.OVERSTAY) and not state.has_truck:
        # Only a free bay says the truck left; faulted or unreachable says nothing.
        return PhaseEvent.DEPART if state is BayState.AVAILABLE else None
    if phase is Phase.ON_BAY and state is BayState.CHARGING:
        return PhaseEvent.CHARGE
    if overstaying(booking, state, now):
        return PhaseEvent.OVERSTAY
    return None
