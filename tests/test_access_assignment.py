"""Bay assignment: lead time, fit, scarce bays kept, later bookings kept feasible, reassignment."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.access.admission import by_start
from edge.access.assignment import LEAD_S, plan
from edge.access.bookings import Booking, BookingStatus, Credentials, Period, Terms
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide

T0 = 1_767_225_600.0
L, R = InletSide.LEFT, InletSide.RIGHT
MCS, CCS = Connector.MCS, Connector.CCS


def bay(name: str, plot: str, conn: Connector, *sides: InletSide) -> Bay:
    return Bay(name, plot, "c1", conn, 400.0, tuple(sides))


def booking(
    i: int, start: float, conn: Connector = CCS, side: InletSide = L, **kw: object
) -> Booking:
    b = Booking(
        id=f"bk{i}",
        version=1,
        period=Period(start, start + 3600),
        connector=conn,
        inlet_side=side,
        plot="p1",
        credentials=Credentials(tractor_plate=f"TR{i:04d}"),
        terms=Terms(noshow_timeout_s=900),
    )
    return replace(b, **kw)  # type: ignore[arg-type]


def free(*bays: Bay) -> dict[str, BayState]:
    return {b.id: BayState.AVAILABLE for b in bays}


def test_assigned_at_slot_start_minus_the_lead_time() -> None:
    b1 = bay("b1", "p1", CCS, L)
    soon = booking(1, T0 + LEAD_S - 1)
    later = booking(2, T0 + LEAD_S + 1)
    p = plan(by_start([soon, later]), [b1], free(b1), {}, T0)
    assert dict(p.assignments) == {"bk1": "b1"}
    assert [(c.booking, c.to_bay) for c in p.changes] == [("bk1", "b1")]


def test_a_both_side_bay_is_kept_for_who_needs_it() -> None:
    both, left = bay("a-both", "p1", CCS, L, R), bay("z-left", "p1", CCS, L)
    p = plan([booking(1, T0)], [both, left], free(both, left), {}, T0)
    assert p.assignments["bk1"] == "z-left"


def test_later_bookings_stay_feasible() -> None:
    # bk1 may use either plot; the only bay bk2 (plot p2) can use must be left to it.
    a, b = bay("a-p2", "p2", CCS, L), bay("b-p1", "p1", CCS, L)
    anywhere = booking(1, T0, plot=None)
    later = booking(2, T0 + LEAD_S + 3600, plot="p2")
    p = plan(by_start([anywhere, later]), [a, b], free(a, b), {}, T0)
    assert p.assignments["bk1"] == "b-p1"


def test_reassigned_when_the_bay_is_occupied_faulted_or_disabled() -> None:
    b1, b2 = bay("b1", "p1", CCS, L), bay("b2", "p1", CCS, L)
    for state, why in [
        (BayState.OCCUPIED, "bay occupied"),
        (BayState.FAULTED, "bay faulted"),
        (BayState.UNAVAILABLE, "bay disabled"),
    ]:
        p = plan(
            [booking(1, T0)], [b1, b2], {"b1": state, "b2": BayState.AVAILABLE}, {"bk1": "b1"}, T0
        )
        assert p.assignments["bk1"] == "b2"
        (change,) = p.changes
        assert (change.from_bay, change.to_bay) == ("b1", "b2")
        assert why in change.reason


def test_a_told_driver_keeps_the_bay_while_it_is_fine() -> None:
    both, left = bay("a-both", "p1", CCS, L, R), bay("z-left", "p1", CCS, L)
    p = plan([booking(1, T0)], [both, left], free(both, left), {"bk1": "a-both"}, T0)
    assert p.assignments["bk1"] == "a-both"
    assert p.changes == ()


def test_released_when_cancelled_and_recorded_when_nothing_fits() -> None:
    b1 = bay("b1", "p1", CCS, L)
    gone = booking(1, T0, status=BookingStatus.CANCELED)
    p = plan([gone], [b1], free(b1), {"bk1": "b1"}, T0)
    assert p.assignments == {}
    assert p.changes[0].reason == "released: booking canceled"
    p = plan([booking(2, T0, MCS)], [b1], free(b1), {}, T0)
    assert p.changes[0].to_bay is None
    assert "no compatible free bay" in p.changes[0].reason


PAIRS = [(c, s) for c in (MCS, CCS) for s in (L, R)]


@settings(max_examples=300)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["p1", "p2"]),
            st.sampled_from([MCS, CCS]),
            st.sampled_from([(L,), (R,), (L, R)]),
            st.sampled_from(list(BayState)),
        ),
        max_size=8,
    ),
    st.lists(
        st.tuples(
            st.floats(-1800, 3 * 3600), st.sampled_from(PAIRS), st.sampled_from(["p1", "p2", None])
        ),
        max_size=10,
    ),
    st.dictionaries(st.integers(0, 9), st.integers(0, 7), max_size=5),
)
def test_assignments_always_fit(
    raw_bays: list[tuple[str, Connector, tuple[InletSide, ...], BayState]],
    raw_bookings: list[tuple[float, tuple[Connector, InletSide], str | None]],
    current_raw: dict[int, int],
) -> None:
    bays = [bay(f"b{i}", p, c, *s) for i, (p, c, s, _) in enumerate(raw_bays)]
    states = {f"b{i}": st_ for i, (*_, st_) in enumerate(raw_bays)}
    bookings = [
        booking(i, T0 + dt, pair[0], pair[1], plot=plot)
        for i, (dt, pair, plot) in enumerate(raw_bookings)
    ]
    current = {f"bk{k}": f"b{v}" for k, v in current_raw.items()}
    p = plan(by_start(bookings), bays, states, current, T0)
    by_id = {b.id: b for b in bookings}
    by_bay = {b.id: b for b in bays}
    assert len(set(p.assignments.values())) == len(p.assignments)  # no bay given twice
    for booking_id, bay_id in p.assignments.items():
        bk, by = by_id[booking_id], by_bay[bay_id]
        assert by.connector is bk.connector
        assert bk.inlet_side in by.inlet_sides
        assert bk.plot in (None, by.plot)
        assert states[bay_id] is BayState.AVAILABLE
        assert bk.period.start - LEAD_S <= T0
