"""What the truck asks for (ISO 15118 through the charger) in the power core's sessions: it
wins over the site's default and over a booking, whichever comes first, keeps the kind, and
goes with the truck."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.chargers.port import BayStatus
from edge.power_inputs import track_sessions
from edge.readings import Grade
from edge.sessions import (
    BayState,
    BookedStay,
    Estimate,
    Session,
    SessionKind,
    Source,
    with_booking,
    with_vehicle,
)
from edge.siteconf import load_site
from edge.siteconf.model import SiteConfig

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
NOON = datetime(2026, 1, 15, 11, 0, tzinfo=UTC).timestamp()  # 12:00 in Brussels: a break
STAY = BookedStay(
    "bk-1", Estimate(120_000.0, Source.BOOKING), Estimate(NOON + 7200, Source.BOOKING)
)


@pytest.fixture(scope="module")
def demo() -> SiteConfig:
    return load_site(DEMO)


def charging(energy_wh: float | None = None, departure: float | None = None) -> BayStatus:
    return BayStatus(
        "B01",
        BayState.CHARGING,
        Grade.FRESH,
        50_000.0,
        ev_energy_wanted_wh=energy_wh,
        ev_departure=departure,
    )


def test_the_vehicle_replaces_the_site_default_and_keeps_the_kind(demo: SiteConfig) -> None:
    plain = track_sessions(demo, {"B01": charging()}, {}, NOON, 0.0)["B01"]
    assert plain.energy_wanted_wh.source is Source.DEFAULT
    told = track_sessions(demo, {"B01": charging(250_000.0, NOON + 5400)}, {}, NOON, 0.0)["B01"]
    assert told.kind is SessionKind.BREAK
    assert told.energy_wanted_wh == Estimate(250_000.0, Source.VEHICLE)
    assert told.departure == Estimate(NOON + 5400, Source.VEHICLE)


def test_only_what_the_vehicle_said_is_replaced(demo: SiteConfig) -> None:
    got = track_sessions(demo, {"B01": charging(departure=NOON + 600)}, {}, NOON, 0.0)["B01"]
    assert got.energy_wanted_wh.source is Source.DEFAULT
    assert got.departure == Estimate(NOON + 600, Source.VEHICLE)


def test_the_vehicle_wins_over_a_booking_in_one_period(demo: SiteConfig) -> None:
    statuses = {"B01": charging(250_000.0, NOON + 5400)}
    got = track_sessions(demo, statuses, {}, NOON, 0.0, {"B01": STAY})["B01"]
    assert (got.kind, got.booking) == (SessionKind.BOOKED, "bk-1")
    assert got.energy_wanted_wh == Estimate(250_000.0, Source.VEHICLE)
    assert got.departure == Estimate(NOON + 5400, Source.VEHICLE)


def test_a_booking_applied_after_the_vehicle_keeps_its_figures(demo: SiteConfig) -> None:
    # The truck said its needs first; site access learns of its booking a period later.
    first = track_sessions(demo, {"B01": charging(250_000.0, NOON + 5400)}, {}, NOON, 0.0)
    # This period the charger's status no longer carries them: the session keeps them.
    later = track_sessions(demo, {"B01": charging()}, first, NOON + 1, 1.0, {"B01": STAY})["B01"]
    assert later.kind is SessionKind.BOOKED
    assert later.energy_wanted_wh == Estimate(250_000.0, Source.VEHICLE)
    assert later.departure == Estimate(NOON + 5400, Source.VEHICLE)


def test_the_vehicle_takes_over_a_booked_session(demo: SiteConfig) -> None:
    booked = track_sessions(demo, {"B01": charging()}, {}, NOON, 0.0, {"B01": STAY})
    assert booked["B01"].energy_wanted_wh.source is Source.BOOKING
    statuses = {"B01": charging(90_000.0)}
    got = track_sessions(demo, statuses, booked, NOON + 1, 1.0, {"B01": STAY})["B01"]
    assert got.energy_wanted_wh == Estimate(90_000.0, Source.VEHICLE)
    assert got.departure == STAY.departure  # the truck named no departure: the booking's
    assert got.kind is SessionKind.BOOKED


def test_the_vehicles_figures_go_with_the_truck(demo: SiteConfig) -> None:
    told = track_sessions(demo, {"B01": charging(250_000.0, NOON + 5400)}, {}, NOON, 0.0)
    free = BayStatus("B01", BayState.AVAILABLE, Grade.FRESH, 0.0)
    assert track_sessions(demo, {"B01": free}, told, NOON + 60, 60.0) == {}
    again = track_sessions(demo, {"B01": charging()}, {}, NOON + 120, 0.0)["B01"]
    assert again.energy_wanted_wh.source is Source.DEFAULT
    assert again.departure.source is Source.DEFAULT


def test_with_booking_never_overwrites_the_vehicle() -> None:
    session = Session(
        "B01",
        NOON,
        SessionKind.OVERNIGHT,
        0.0,
        Estimate(1.0, Source.DEFAULT),
        Estimate(NOON + 1, Source.DEFAULT),
    )
    told = with_vehicle(session, 5_000.0, NOON + 99)
    assert told.kind is SessionKind.OVERNIGHT
    booked = with_booking(told, STAY)
    assert (booked.energy_wanted_wh, booked.departure) == (
        Estimate(5_000.0, Source.VEHICLE),
        Estimate(NOON + 99, Source.VEHICLE),
    )
    assert with_vehicle(session, None, None) == session
