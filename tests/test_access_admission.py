"""Admission: reason codes, and the property that an ad-hoc admission never leaves a booked
truck due within the horizon without a compatible bay (checked against a plain per-truck
matching written here, independent of the class-based one in edge/access/matching.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.access.admission import (
    Arrival,
    Policy,
    Reason,
    Site,
    VehicleClass,
    Via,
    by_start,
    decide,
)
from edge.access.bookings import Booking, BookingStatus, Credentials, Period, Phase, Terms
from edge.access.matching import Demand, fits, max_matched, supply_of
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide

T0 = 1_767_225_600.0
L, R = InletSide.LEFT, InletSide.RIGHT
MCS, CCS = Connector.MCS, Connector.CCS


def bay(i: int, plot: str, conn: Connector, *sides: InletSide) -> Bay:
    return Bay(f"b{i}", plot, "c1", conn, 400.0, tuple(sides))


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
        terms=Terms(early_start_s=600, noshow_timeout_s=900),
    )
    return replace(b, **kw)  # type: ignore[arg-type]


def kuhn(demands: list[Demand], bays: list[Bay]) -> int:
    """Plain augmenting-path matching, one truck at a time (the reference)."""
    owner: dict[str, int] = {}

    def try_(i: int, seen: set[str]) -> bool:
        for b in bays:
            if b.id in seen or not fits(b, demands[i]):
                continue
            seen.add(b.id)
            if b.id not in owner or try_(owner[b.id], seen):
                owner[b.id] = i
                return True
        return False

    return sum(try_(i, set()) for i in range(len(demands)))


PAIRS = [(c, s) for c in (MCS, CCS) for s in (L, R)]
bays_st = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2"]),
        st.sampled_from([MCS, CCS]),
        st.sampled_from([(L,), (R,), (L, R)]),
    ),
    max_size=8,
).map(lambda xs: [bay(i, p, c, *s) for i, (p, c, s) in enumerate(xs)])
demand_st = st.builds(
    Demand,
    st.sampled_from(["p1", "p2", None]),
    st.frozensets(st.sampled_from(PAIRS), min_size=1, max_size=3),
)


@settings(max_examples=300)
@given(bays_st, st.lists(demand_st, max_size=10))
def test_class_matching_equals_per_truck_matching(bays: list[Bay], demands: list[Demand]) -> None:
    assert max_matched(demands, supply_of(bays)) == kuhn(demands, bays)


def arrival(**kw: object) -> Arrival:
    base = Arrival(
        lane_plot="p1",
        vehicle=VehicleClass.ELECTRIC_TRUCK,
        via=Via.PLATE,
        booking=None,
        demand=Demand(None, frozenset({(CCS, L)})),
        dwell_s=2700,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


ONE_BAY = [bay(1, "p1", CCS, L)]
FREE = {"b1": BayState.AVAILABLE}
DUE = booking(1, T0 + 1800)  # due within the horizon, wants the only bay


@pytest.mark.parametrize(
    ("name", "bookings", "arr", "reason"),
    [
        ("ad hoc, room", [], arrival(), Reason.ACCEPTED),
        ("ad hoc, bay kept for booked", [DUE], arrival(), Reason.FULL),
        (
            "ad hoc, nothing fits",
            [],
            arrival(demand=Demand(None, frozenset({(MCS, L)}))),
            Reason.FULL,
        ),
        (
            "booked in window, even if full",
            [DUE, booking(2, T0 + 60)],
            arrival(booking=booking(2, T0 + 60)),
            Reason.ACCEPTED,
        ),
        (
            "early, would cost a booked truck",
            [DUE, booking(3, T0 + 7200)],
            arrival(booking=booking(3, T0 + 7200)),
            Reason.NOT_AT_THIS_TIME,
        ),
        (
            "early, room",
            [booking(3, T0 + 7200)],
            arrival(booking=booking(3, T0 + 7200)),
            Reason.ACCEPTED,
        ),
        (
            "late past no-show, no room",
            [DUE, booking(4, T0 - 3000)],
            arrival(booking=booking(4, T0 - 3000)),
            Reason.EXPIRED,
        ),
        (
            "late past no-show, room: ad hoc",
            [booking(4, T0 - 3000)],
            arrival(booking=booking(4, T0 - 3000)),
            Reason.ACCEPTED,
        ),
        (
            "cancelled",
            [],
            arrival(booking=booking(5, T0, status=BookingStatus.CANCELED)),
            Reason.INVALID,
        ),
        ("car", [], arrival(vehicle=VehicleClass.OTHER), Reason.REFERRED),
        ("unknown class", [], arrival(vehicle=VehicleClass.UNKNOWN), Reason.REFERRED),
        ("diesel-or-unknown truck", [], arrival(vehicle=VehicleClass.TRUCK), Reason.REFERRED),
        ("blocklisted", [], arrival(blocked=True), Reason.BLOCKED),
        ("QR already inside", [], arrival(via=Via.QR, inside=True), Reason.BLOCKED),
        ("plate already inside: clone?", [], arrival(inside=True), Reason.REFERRED),
        ("inlet unknown", [], arrival(demand=None), Reason.REFERRED),
    ],
)
def test_reasons(name: str, bookings: list[Booking], arr: Arrival, reason: Reason) -> None:
    d = decide(Site(ONE_BAY, FREE, by_start(bookings)), arr, T0)
    assert d.reason is reason, d.detail
    assert d.inputs.now == T0
    assert d.inputs.free_bays == 1


def test_untrusted_clock_refers_booked_windows() -> None:
    b = booking(2, T0 + 60)
    d = decide(Site(ONE_BAY, FREE, (b,)), arrival(booking=b), T0, Policy(time_trusted=False))
    assert d.reason is Reason.REFERRED


def test_an_admitted_truck_driving_to_its_bay_keeps_it() -> None:
    site = Site(ONE_BAY, FREE, (), in_transit=(Demand("p1", frozenset({(CCS, L)})),))
    assert decide(site, arrival(), T0).reason is Reason.FULL


def test_a_booked_truck_admitted_but_not_parked_keeps_its_bay() -> None:
    driving = booking(7, T0 + 7 * 3600, phase=Phase.ADMITTED, phase_at=T0 - 60)  # came early
    assert decide(Site(ONE_BAY, FREE, (driving,)), arrival(), T0).reason is Reason.FULL


def test_the_decision_carries_its_inputs() -> None:
    b = booking(2, T0 + 60)
    d = decide(Site(ONE_BAY, FREE, (DUE, b)), arrival(booking=b), T0)
    assert (d.inputs.booking_id, d.inputs.booking_version, d.inputs.booked_due) == ("bk2", 1, 1)
    assert d.inputs.horizon_end == T0 + 2700 + Policy().margin_s


def due_in_horizon(
    bookings: list[Booking], now: float, horizon: float, own: str | None
) -> list[Booking]:
    """The booked trucks that must keep a bay, computed here from the definition."""
    return [
        b
        for b in bookings
        if b.status is BookingStatus.RESERVED
        and b.id != own
        and (
            b.phase is Phase.ADMITTED
            or (
                b.phase in (Phase.SCHEDULED, Phase.ASSIGNED)
                and b.period.start - b.terms.early_start_s <= horizon
                and b.period.start + b.terms.noshow_timeout_s >= now
            )
        )
    ]


booking_st = st.builds(
    lambda i, dt, pair, plot, phase: booking(i, T0 + dt, pair[0], pair[1], plot=plot, phase=phase),
    st.integers(0, 10_000),
    st.floats(-3600, 4 * 3600),
    st.sampled_from(PAIRS),
    st.sampled_from(["p1", "p2"]),
    st.sampled_from([Phase.SCHEDULED, Phase.ASSIGNED, Phase.ADMITTED, Phase.ON_BAY]),
)


@settings(max_examples=400)
@given(
    bays_st,
    st.lists(booking_st, max_size=12, unique_by=lambda b: b.id),
    demand_st,
    st.sampled_from([BayState.AVAILABLE, BayState.OCCUPIED, BayState.FAULTED]),
    st.floats(900, 6 * 3600),
)
def test_ad_hoc_admission_never_strands_a_booked_truck(
    bays: list[Bay], bookings: list[Booking], demand: Demand, odd: BayState, dwell: float
) -> None:
    states = {b.id: (odd if i % 3 == 2 else BayState.AVAILABLE) for i, b in enumerate(bays)}
    site = Site(bays, states, by_start(bookings))
    d = decide(site, arrival(demand=demand, dwell_s=dwell), T0)
    if not d.admitted:
        return
    free = [b for b in bays if states[b.id] is BayState.AVAILABLE]
    due = due_in_horizon(bookings, T0, d.inputs.horizon_end, None)
    newcomer = Demand(demand.plot or "p1", demand.accepts)
    kept = [Demand(b.plot, frozenset({b.need})) for b in due]
    assert kuhn([*kept, newcomer], free) == len(kept) + 1


UNDECLARED = Policy(ad_hoc_needs=((CCS, L), (CCS, R)))  # the gate lanes' policy


@pytest.mark.parametrize(
    ("name", "bays", "states", "bookings", "reason"),
    [
        ("left-only bay: a right inlet would not fit", ONE_BAY, FREE, [], Reason.FULL),
        ("a bay reaching both sides", [bay(1, "p1", CCS, L, R)], FREE, [], Reason.ACCEPTED),
        (
            "a left and a right bay",
            [bay(1, "p1", CCS, L), bay(2, "p1", CCS, R)],
            {"b1": BayState.AVAILABLE, "b2": BayState.AVAILABLE},
            [],
            Reason.ACCEPTED,
        ),
        (
            "the left bay kept for a booked truck",
            [bay(1, "p1", CCS, L), bay(2, "p1", CCS, R)],
            {"b1": BayState.AVAILABLE, "b2": BayState.AVAILABLE},
            [DUE],
            Reason.FULL,
        ),
    ],
)
def test_an_undeclared_ad_hoc_truck_needs_a_bay_whichever_side_it_has(
    name: str, bays: list[Bay], states: dict[str, BayState], bookings: list[Booking], reason: Reason
) -> None:
    d = decide(Site(bays, states, by_start(bookings)), arrival(demand=None), T0, UNDECLARED)
    assert d.reason is reason, d.detail
    booked = decide(Site(bays, states, ()), arrival(demand=None, booking=DUE), T0, UNDECLARED)
    assert booked.reason is Reason.ACCEPTED  # a booking says what it needs: no assumption


@settings(max_examples=300)
@given(
    bays_st,
    st.lists(booking_st, max_size=12, unique_by=lambda b: b.id),
    st.floats(900, 6 * 3600),
)
def test_an_undeclared_ad_hoc_admission_strands_nobody_whatever_its_side(
    bays: list[Bay], bookings: list[Booking], dwell: float
) -> None:
    states = {b.id: BayState.AVAILABLE for b in bays}
    site = Site(bays, states, by_start(bookings))
    d = decide(site, arrival(demand=None, dwell_s=dwell), T0, UNDECLARED)
    if not d.admitted:
        return
    due = due_in_horizon(bookings, T0, d.inputs.horizon_end, None)
    kept = [Demand(b.plot, frozenset({b.need})) for b in due]
    for need in UNDECLARED.ad_hoc_needs:
        assert kuhn([*kept, Demand("p1", frozenset({need}))], bays) == len(kept) + 1
