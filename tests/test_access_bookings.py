"""Bookings: the phase table, ingest checks, no-show, and merging cloud versions with site facts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.access.bookings import (
    PHASES,
    Booking,
    BookingInvalid,
    BookingStatus,
    Credentials,
    IllegalPhase,
    MergeOutcome,
    Period,
    Phase,
    PhaseEvent,
    Terms,
    booked_stay,
    expire,
    merge,
    observe,
    stays_by_bay,
    validate,
)
from edge.sessions import Estimate, Session, SessionKind, Source, with_booking
from edge.siteconf.model import Connector, InletSide

T0 = 1_767_225_600.0


def booking(version: int = 1, **kw: object) -> Booking:
    base = Booking(
        id="bk-1",
        version=version,
        period=Period(T0 + 3600, T0 + 7200),
        connector=Connector.MCS,
        inlet_side=InletSide.LEFT,
        plot="north",
        credentials=Credentials(tractor_plate="1-ABC-123", trailer_plate="Q-TR-77"),
        terms=Terms(early_start_s=900, noshow_timeout_s=900, late_stop_s=600),
        updated_at=T0 + version,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("phase", "event"), [(p, e) for p, table in PHASES.items() for e in table])
def test_every_legal_phase_event(phase: Phase, event: PhaseEvent) -> None:
    got = observe(booking(phase=phase), event, T0)
    assert got.phase is PHASES[phase][event]
    if got.phase.on_site:
        assert got.phase_at == T0


@pytest.mark.parametrize(
    ("phase", "event"),
    [(p, e) for p in Phase for e in PhaseEvent if e not in PHASES[p]],
)
def test_illegal_phase_event_raises_and_changes_nothing(phase: Phase, event: PhaseEvent) -> None:
    before = booking(phase=phase)
    with pytest.raises(IllegalPhase, match=str(event)):
        observe(before, event, T0)
    assert before == booking(phase=phase)


def test_a_session_with_the_token_fulfils_the_booking() -> None:
    b = observe(booking(phase=Phase.ON_BAY), PhaseEvent.CHARGE, T0)
    assert b.status is BookingStatus.FULFILLED


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": ""}, "id"),
        ({"version": -1}, "version"),
        ({"period": Period(T0, T0)}, "end must be after start"),
        ({"terms": Terms(noshow_timeout_s=-1)}, "negative"),
        ({"terms": Terms(early_start_s=2 * 86_400)}, "early start"),
        ({"credentials": Credentials()}, "no credential"),
        ({"energy_wanted_wh": 0.0}, "energy"),
    ],
)
def test_ingest_refuses_bad_bookings(change: dict[str, object], message: str) -> None:
    with pytest.raises(BookingInvalid, match=message):
        validate(booking(**change))  # type: ignore[arg-type]


def test_a_booking_fills_in_the_session_estimates() -> None:
    stay = booked_stay(booking(energy_wanted_wh=300_000.0))
    assert stay.booking == "bk-1"
    assert stay.energy_wanted_wh == Estimate(300_000.0, Source.BOOKING)
    assert stay.departure == Estimate(T0 + 7200, Source.BOOKING)
    assert booked_stay(booking()).energy_wanted_wh is None


def test_a_session_on_a_booked_bay_takes_the_bookings_estimates_unless_the_truck_spoke() -> None:
    default = Session(
        "B01",
        T0,
        SessionKind.BREAK,
        1_000.0,
        Estimate(300_000.0, Source.DEFAULT),
        Estimate(T0 + 2700, Source.DEFAULT),
    )
    stay = booked_stay(booking(energy_wanted_wh=200_000.0))
    got = with_booking(default, stay)
    assert (got.kind, got.booking, got.energy_delivered_wh) == (SessionKind.BOOKED, "bk-1", 1_000.0)
    assert got.energy_wanted_wh == Estimate(200_000.0, Source.BOOKING)
    assert got.departure == Estimate(T0 + 7200, Source.BOOKING)
    # No energy in the booking: the default stays. What the vehicle said is never overwritten.
    assert with_booking(default, booked_stay(booking())).energy_wanted_wh.source is Source.DEFAULT
    told = replace(default, energy_wanted_wh=Estimate(150_000.0, Source.VEHICLE))
    assert with_booking(told, stay).energy_wanted_wh == Estimate(150_000.0, Source.VEHICLE)


@pytest.mark.parametrize("phase", list(Phase))
def test_only_a_booked_truck_admitted_or_on_its_bay_gives_its_bay_a_stay(phase: Phase) -> None:
    bays = {"bk-1": "B07", "bk-2": None}
    got = stays_by_bay([booking(phase=phase), booking(id="bk-2", phase=phase)], bays.get)
    on = phase in (Phase.ADMITTED, Phase.ON_BAY, Phase.CHARGING, Phase.OVERSTAY)
    assert got == ({"B07": booked_stay(booking(phase=phase))} if on else {})


def test_no_show_after_the_timeout_but_never_for_a_truck_on_site() -> None:
    late = T0 + 3600 + 901
    assert expire(booking(), late).status is BookingStatus.NO_SHOW
    assert expire(booking(), late - 2).status is BookingStatus.RESERVED
    on_site = booking(phase=Phase.ADMITTED, phase_at=T0)
    assert expire(on_site, late).status is BookingStatus.RESERVED


def test_merge_versions() -> None:
    first = merge(None, booking(1, phase=Phase.CHARGING))
    assert first.outcome is MergeOutcome.CREATED
    assert first.booking.phase is Phase.SCHEDULED  # the cloud never sets the local phase
    local = first.booking
    assert merge(local, booking(1, plot="south")).outcome is MergeOutcome.DUPLICATE
    assert merge(local, booking(0, plot="south")).booking.plot == "north"
    newer = merge(local, booking(2, plot="south"))
    assert (newer.outcome, newer.booking.plot) == (MergeOutcome.APPLIED, "south")


def test_site_facts_win_over_older_cloud_updates() -> None:
    arrived = booking(2, phase=Phase.ADMITTED, phase_at=T0 + 50)
    no_show = merge(arrived, booking(3, status=BookingStatus.NO_SHOW, updated_at=T0 + 99))
    assert no_show.outcome is MergeOutcome.FACT_KEPT
    assert no_show.booking.status is BookingStatus.RESERVED
    assert no_show.booking.version == 3  # the version moves on: the next update is not stale
    old_cancel = merge(arrived, booking(3, status=BookingStatus.CANCELED, updated_at=T0 + 10))
    assert old_cancel.booking.status is BookingStatus.RESERVED
    new_cancel = merge(arrived, booking(3, status=BookingStatus.CANCELED, updated_at=T0 + 60))
    assert new_cancel.booking.status is BookingStatus.CANCELED
    assert new_cancel.booking.phase is Phase.ADMITTED  # still on site: it must be let out
    fulfilled = booking(2, phase=Phase.CHARGING, phase_at=T0, status=BookingStatus.FULFILLED)
    assert merge(fulfilled, booking(3)).booking.status is BookingStatus.FULFILLED


@given(st.permutations(list(range(1, 8))))
def test_any_delivery_order_ends_at_the_newest_version(order: list[int]) -> None:
    local: Booking | None = None
    for v in order:
        local = merge(local, booking(v, plot=f"plot-{v}")).booking
    assert local is not None
    assert (local.version, local.plot) == (7, "plot-7")
