"""Drain ordering decisions, jittered backoff and the rate cap (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.uplink.link_settings import backoff_delay, parse_broker
from edge.uplink.ordering import Head, batch_size, bucket, pick_class, pick_stream
from edge.uplink.policy import MsgClass

E, S, T = MsgClass.EVENT, MsgClass.STATE, MsgClass.TELEMETRY


def test_events_first_then_state_then_telemetry() -> None:
    assert pick_class({E: True, S: True, T: True}, 0) is E
    assert pick_class({S: True, T: True}, 0) is S
    assert pick_class({T: True}, 0) is T
    assert pick_class({}, 0) is None


def test_telemetry_backlog_is_not_starved() -> None:
    assert pick_class({E: True, T: True}, 20, max_streak=20) is T
    assert pick_class({E: True, T: False}, 99, max_streak=20) is E


def test_live_stream_goes_before_backlog_streams() -> None:
    heads = {"events/session": Head(5, 100.0), "events/alarm": Head(900, 998.0)}
    assert pick_stream(heads, now=1000.0, live_s=5.0) == "events/alarm"
    assert pick_stream(heads, now=2000.0, live_s=5.0) == "events/session"
    assert pick_stream({}, now=0.0) is None


@given(st.lists(st.integers(1, 70_000), min_size=1, max_size=200), st.integers(1, 100))
def test_batches_are_bounded_and_never_empty(sizes: list[int], max_records: int) -> None:
    n = batch_size(sizes, max_records, 65_536)
    assert 1 <= n <= min(len(sizes), max_records)
    if n > 1:
        assert sum(s + 1 for s in sizes[:n]) <= 65_536


@given(st.floats(0.5, 1000.0), st.lists(st.floats(0.0, 0.5), min_size=1, max_size=300))
def test_token_bucket_never_exceeds_rate_plus_burst(rate: float, steps: list[float]) -> None:
    b, now, sent = bucket(rate, 0.0), 0.0, 0
    for dt in steps:
        now += dt
        b2, wait = b.take(now)
        if wait == 0.0:
            sent += 1
        else:
            assert wait > 0
        b = b2
    assert sent <= b.burst + rate * now + 1e-6


@given(st.integers(0, 100), st.floats(0.0, 0.999))
def test_backoff_is_jittered_and_bounded(attempt: int, rnd: float) -> None:
    d = backoff_delay(attempt, 1.0, 60.0, rnd)
    assert 1.0 <= d <= 60.0
    assert backoff_delay(attempt, 1.0, 60.0, 0.0) == 1.0


def test_parse_broker() -> None:
    assert parse_broker("mqtt://127.0.0.1:1884") == ("127.0.0.1", 1884, False)
    assert parse_broker("mqtts://broker.example") == ("broker.example", 8883, True)
