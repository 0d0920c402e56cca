"""Occupancy facts for a booked truck (pure): parked, charging, overstay, departed."""

from __future__ import annotations

from dataclasses import replace

from edge.access.bookings import Booking, Credentials, Period, Phase, PhaseEvent, Terms
from edge.access.occupancy import bay_states, overstaying, site_fact
from edge.sessions import BayState
from edge.siteconf.model import Connector, InletSide

T0 = 1_800_000_000.0
B = Booking(
    "bk",
    1,
    Period(T0, T0 + 3600),
    Connector.CCS,
    InletSide.LEFT,
    None,
    Credentials(rfid_uid="04AB"),
    Terms(late_stop_s=600),
)


def test_no_observation_gives_no_fact() -> None:
    for phase in Phase:
        assert site_fact(replace(B, phase=phase), None, T0 + 99_999) is None


def test_a_faulted_or_unreachable_bay_does_not_mean_the_truck_left() -> None:
    on_bay = replace(B, phase=Phase.ON_BAY)
    assert site_fact(on_bay, BayState.FAULTED, T0) is None
    assert site_fact(on_bay, BayState.UNAVAILABLE, T0) is None
    assert site_fact(on_bay, BayState.AVAILABLE, T0) is PhaseEvent.DEPART


def test_overstay_only_after_the_charge_and_end_plus_late_stop() -> None:
    charging = replace(B, phase=Phase.CHARGING)
    late = T0 + 3600 + 601
    assert not overstaying(charging, BayState.CHARGING, late)  # still charging: not overstay
    assert not overstaying(charging, BayState.FINISHING, T0 + 3600 + 600)
    assert overstaying(charging, BayState.FINISHING, late)
    assert overstaying(replace(B, phase=Phase.ON_BAY), BayState.OCCUPIED, late)
    assert not overstaying(replace(B, phase=Phase.ADMITTED), BayState.OCCUPIED, late)


def test_out_of_service_beats_free_but_not_a_truck_on_the_bay() -> None:
    states = bay_states(["B1", "B2", "B3"], ["B1", "B2"], {"B2": BayState.OCCUPIED})
    assert states == {
        "B1": BayState.UNAVAILABLE,
        "B2": BayState.OCCUPIED,
        "B3": BayState.AVAILABLE,
    }
