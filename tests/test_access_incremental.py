"""The cheaper admission gives the straightforward one's answers: the due-trucks index
against the pass over the bookings, the bays' classes counted once against a class built per
bay, one augmenting path from a remembered matching against
matching everyone again, and `decide` with both against a per-truck matching written here."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.access import plates as plates_module
from edge.access.admission import Policy, Reason, Site, by_start, decide, needs_for
from edge.access.bookings import (
    MAX_EARLY_START_S,
    Booking,
    BookingStatus,
    Credentials,
    Phase,
    Terms,
)
from edge.access.due import DueIndex, demand_of, due_scan
from edge.access.matching import BayClasses, Demand, match, matching, max_matched, supply_of
from edge.access.plates import (
    MIN_FUZZY_LENGTH,
    MatchKind,
    PlateIndex,
    PlateMatch,
    _within_one,
    canonical_plate,
    match_plate,
    normalise_plate,
)
from edge.sessions import BayState
from edge.siteconf.model import Bay
from tests.test_access_admission import (
    CCS,
    MCS,
    PAIRS,
    T0,
    L,
    R,
    arrival,
    bays_st,
    booking,
    demand_st,
    kuhn,
)

terms_st = st.builds(
    Terms,
    early_start_s=st.sampled_from([0.0, 600.0, 3600.0, MAX_EARLY_START_S, 2 * MAX_EARLY_START_S]),
    noshow_timeout_s=st.sampled_from([0.0, 900.0, 7200.0, -7200.0]),  # < 0: never validated
)
booking_st = st.builds(
    lambda i, dt, pair, plot, phase, status, terms: booking(
        i, T0 + dt, pair[0], pair[1], plot=plot, phase=phase, status=status, terms=terms
    ),
    st.integers(0, 30),
    st.floats(-2 * 86_400, 3 * 86_400),
    st.sampled_from(PAIRS),
    st.sampled_from(["p1", "p2", None]),
    st.sampled_from(list(Phase)),
    st.sampled_from(list(BookingStatus)),
    terms_st,
)
bookings_st = st.lists(booking_st, max_size=14, unique_by=lambda b: b.id)


@settings(max_examples=500)
@given(bookings_st, st.floats(-86_400, 86_400), st.floats(0, 2 * 86_400))
def test_the_index_counts_what_the_pass_finds(
    bookings: list[Booking], dt: float, ahead: float
) -> None:
    now = T0 + dt
    index = DueIndex.build(bookings)
    scan = due_scan(by_start(bookings), now, now + ahead)
    assert index.count(now, now + ahead) == Counter(demand_of(b) for b in scan)
    for own in bookings[:3]:  # the arriving truck's own booking is left out
        rest = Counter(demand_of(b) for b in scan if b.id != own.id)
        assert index.count(now, now + ahead, own.id) == rest


@settings(max_examples=500)
@given(bays_st, st.lists(demand_st, max_size=10), demand_st)
def test_one_augmenting_path_from_a_maximum_matching_is_matching_again(
    bays: list[Bay], demands: list[Demand], newcomer: Demand
) -> None:
    base = match(Counter(demands), supply_of(bays))
    assert base.matched == kuhn(demands, bays)
    again = max_matched([*demands, newcomer], supply_of(bays))
    assert base.admits(newcomer) == (again == base.matched + 1)
    assert base.fits(newcomer) == (kuhn([newcomer], bays) == 1)
    assert base.supply == supply_of(bays)
    assert base.admits(newcomer) == base.admits(newcomer)  # the remembered one is not changed


def test_a_remembered_matching_is_reused_not_rebuilt() -> None:
    need = Counter({Demand("p1", frozenset({(CCS, L)})): 2})
    supply = supply_of([Bay("b1", "p1", "c", CCS, 400, (L,))])
    assert matching(need, supply) is matching(Counter(need), dict(supply))
    assert not matching(need, supply).full


def reference(site: Site, arr_demands: list[Demand], now: float, horizon: float) -> bool:
    """Room for the newcomer whatever it needs, by a per-truck matching over the bays."""
    free = [b for b in site.bays if site.states[b.id] is BayState.AVAILABLE]
    kept = [demand_of(b) for b in due_scan(site.bookings, now, horizon)]
    wanted = [*kept, *site.in_transit]
    return all(
        kuhn([d], free) == 1 and kuhn([*wanted, d], free) == len(wanted) + 1 for d in arr_demands
    )


@settings(max_examples=400)
@given(
    bays_st,
    bookings_st,
    st.lists(st.sampled_from([BayState.AVAILABLE, BayState.OCCUPIED]), min_size=8, max_size=8),
    st.lists(demand_st, max_size=2),
    st.sampled_from([None, *PAIRS]),
    st.floats(0, 6 * 3600),
    st.sampled_from([(), needs_for([CCS]), needs_for([CCS, MCS])]),
    st.sampled_from([None, CCS, MCS]),
    st.sampled_from([None, L, R]),
    st.integers(-1, 3),
)
def test_decide_with_the_index_and_the_remembered_matching_answers_as_before(
    bays: list[Bay],
    bookings: list[Booking],
    busy: list[BayState],
    moving: list[Demand],
    declared: tuple[object, object] | None,
    dwell: float,
    needs: tuple[tuple[object, object], ...],
    connector: object,
    side: object,
    own: int,
) -> None:
    states = {b.id: busy[i] for i, b in enumerate(bays)}
    plain = Site(bays, states, by_start(bookings), tuple(moving))
    indexed = replace(plain, due=DueIndex.build(bookings), classes=BayClasses.of(bays))
    assert indexed.classes is not None
    free = [b for b in bays if states[b.id] is BayState.AVAILABLE]
    assert indexed.classes.free(states) == supply_of(free)
    policy = Policy(ad_hoc_needs=needs)  # type: ignore[arg-type]
    demand = Demand(None, frozenset({declared})) if declared else None  # type: ignore[arg-type]
    mine = bookings[own] if 0 <= own < len(bookings) else None
    arr = arrival(demand=demand, dwell_s=dwell, booking=mine, connector=connector, inlet_side=side)
    fast, slow = decide(indexed, arr, T0, policy), decide(plain, arr, T0, policy)
    assert fast == slow
    assert decide(indexed, arr, T0, policy) == fast  # a second time, from the remembered one
    if mine is None and fast.reason in (Reason.ACCEPTED, Reason.FULL):
        plot = arr.lane_plot
        possible = [Demand(plot, frozenset({n})) for n in fast.inputs.needs]
        if demand is not None:
            possible = [Demand(plot, demand.accepts)]
        assert fast.admitted == reference(plain, possible, T0, fast.inputs.horizon_end)


def match_by_scan(raw: str, index: PlateIndex, now: float) -> PlateMatch:
    """`match_plate` as it was: every booking active in its window compared with the read."""
    plate = normalise_plate(raw)
    exact = list(index.exact.get(plate, ()))
    if exact:
        exact.sort(key=lambda b: (not b.in_window(now), abs(b.period.start - now), b.id))
        return PlateMatch(MatchKind.EXACT, plate, exact[0])
    canon = canonical_plate(plate)
    scored = []
    for b, canon_plates in index.active(now):
        d = min((_within_one(canon, c) for c in canon_plates), default=2)
        if d <= 1:
            scored.append((d, b.id, b))
    scored.sort(key=lambda x: (x[0], x[1]))
    if not scored or (scored[0][0] == 1 and len(plate) < MIN_FUZZY_LENGTH):
        return PlateMatch(MatchKind.NONE, plate, None)
    best = scored[0][0]
    ties = tuple(bid for d, bid, _ in scored if d == best)
    if len(ties) > 1:
        return PlateMatch(MatchKind.AMBIGUOUS, plate, None, ties)
    kind = MatchKind.CONFUSABLE if best == 0 else MatchKind.FUZZY
    return PlateMatch(kind, plate, scored[0][2])


plate_st = st.text("AB8O0DIL1S5", min_size=2, max_size=8)


@st.composite
def near_read(draw: st.DrawFn, plates: list[str]) -> str:
    """A plate of a booking with one substitution, insertion or deletion, or any plate."""
    if not plates or draw(st.booleans()):
        return draw(plate_st)
    p = draw(st.sampled_from(plates))
    i = draw(st.integers(0, len(p)))
    ch = draw(st.sampled_from("AB8O0DIL1S5"))
    edit = draw(st.sampled_from(["sub", "ins", "del"]))
    if edit == "ins" or i == len(p):
        return p[:i] + ch + p[i:]
    return p[:i] + ch + p[i + 1 :] if edit == "sub" else p[:i] + p[i + 1 :] or p


@settings(max_examples=500)
@given(
    st.lists(st.tuples(plate_st, plate_st, st.floats(-3600, 3600)), max_size=12),
    st.data(),
    st.sampled_from([0.0, 600.0, -86_400.0]),
)
def test_the_plate_index_finds_what_the_scan_over_active_bookings_finds(
    plates: list[tuple[str, str, float]], data: st.DataObject, dt: float
) -> None:
    bookings = [
        booking(i, T0 + at, credentials=Credentials(tractor_plate=p, trailer_plate=q))
        for i, (p, q, at) in enumerate(plates)
    ]
    for block in (3, plates_module.BLOCK):  # blocks of 3: the window spans several
        index = PlateIndex.build(bookings)
        saved, plates_module.BLOCK = plates_module.BLOCK, block
        try:
            for _ in range(4):
                raw = data.draw(near_read([p for p, _, _ in plates] + [q for _, q, _ in plates]))
                if len(raw) < 2:
                    continue  # not a plate: refused by normalise_plate on both sides
                assert match_plate(raw, index, T0 + dt) == match_by_scan(raw, index, T0 + dt)
        finally:
            plates_module.BLOCK = saved
