"""Eviction and downsampling policy: properties over generated outbox contents."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from edge.uplink.policy import (
    CLOCK_SANE_AFTER,
    Budget,
    MsgClass,
    StoredRow,
    Usage,
    admits_telemetry,
    class_of,
    downsample,
    relief_plan,
    telemetry_excess,
    ttl_cutoff,
)

T0 = 1_767_225_600.0


@st.composite
def telemetry_rows(draw: st.DrawFn) -> list[StoredRow]:
    n = draw(st.integers(0, 200))
    streams = draw(
        st.lists(st.sampled_from(["telemetry/site", "telemetry/health"]), min_size=n, max_size=n)
    )
    gaps = draw(st.lists(st.floats(0.0, 120.0), min_size=n, max_size=n))
    sizes = draw(st.lists(st.integers(1, 5000), min_size=n, max_size=n))
    rows, t = [], T0
    for i in range(n):
        t += gaps[i]
        rows.append(StoredRow(i + 1, streams[i], t, sizes[i]))
    return rows


@given(telemetry_rows(), st.integers(0, 400_000))
def test_relief_frees_enough_when_possible_and_only_given_rows(
    rows: list[StoredRow], excess: int
) -> None:
    plan = relief_plan(rows, excess)
    ids = plan.ids
    assert len(ids) == len(set(ids)), "a row is deleted once"
    assert set(ids) <= {r.id for r in rows}
    freed = sum(r.size for r in rows if r.id in set(ids))
    total = sum(r.size for r in rows)
    if excess <= 0:
        assert ids == ()
    else:
        assert freed >= min(excess, total)


@given(telemetry_rows(), st.integers(1, 400_000))
def test_eviction_takes_oldest_first_and_only_after_thinning_fails(
    rows: list[StoredRow], excess: int
) -> None:
    plan = relief_plan(rows, excess)
    if plan.evicted:
        remaining = [r.id for r in rows if r.id not in set(plan.downsampled)]
        assert list(plan.evicted) == remaining[: len(plan.evicted)]
        thinned_bytes = sum(r.size for r in rows if r.id in set(plan.downsampled))
        assert thinned_bytes < excess
    # Eviction never frees far more than needed: dropping the last evicted row would not do.
    if plan.evicted:
        gone = set(plan.ids) - {plan.evicted[-1]}
        assert sum(r.size for r in rows if r.id in gone) < excess


@given(telemetry_rows(), st.sampled_from([5.0, 30.0, 300.0]))
def test_downsample_keeps_first_per_stream_and_spacing(rows: list[StoredRow], step: float) -> None:
    dropped = set(downsample(rows, step))
    kept = [r for r in rows if r.id not in dropped]
    for stream in {r.stream for r in rows}:
        mine = [r for r in rows if r.stream == stream]
        kept_mine = [r for r in kept if r.stream == stream]
        assert kept_mine[0] == mine[0]
        for a, b in itertools.pairwise(kept_mine):
            assert b.created - a.created >= step


@given(
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(0, 10**9),
    st.integers(1, 10**9),
    st.integers(0, 10**9),
)
def test_telemetry_never_uses_the_event_reserve(
    ev: int, state: int, tel: int, total: int, reserve: int
) -> None:
    usage, budget = Usage(ev, state, tel), Budget(total, reserve)
    after = tel - telemetry_excess(usage, budget)
    assert after + max(ev, reserve) + state <= max(total, max(ev, reserve) + state)
    assert telemetry_excess(usage, budget) <= tel


def test_huge_telemetry_refused_small_accepted() -> None:
    budget = Budget(1000, 300)
    assert admits_telemetry(700, Usage(), budget)
    assert not admits_telemetry(701, Usage(), budget)
    assert not admits_telemetry(10, Usage(event_bytes=995), budget)


def test_ttl_never_fires_on_an_unset_clock() -> None:
    assert ttl_cutoff(1000.0, 3600) is None
    assert ttl_cutoff(CLOCK_SANE_AFTER + 7200, 3600) == CLOCK_SANE_AFTER + 3600
    assert ttl_cutoff(T0, None) is None


def test_class_of_streams() -> None:
    assert class_of("telemetry/site") is MsgClass.TELEMETRY
    assert class_of("state/bay-availability") is MsgClass.STATE
    assert class_of("events/alarm") is MsgClass.EVENT
    assert class_of("cmd-reply") is MsgClass.EVENT
