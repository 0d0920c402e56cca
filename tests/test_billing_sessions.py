"""Billing sessions: the pure tracker (observed and reported sessions), the wire payloads
against their schemas, and the session log's hand-over to an outbox-like sink."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.billing.model import MeterKind, MeterSample, SessionEnded, SessionStarted, SignedValue
from edge.billing.session_log import SessionLog
from edge.billing.tracker import Context, SessionTracker, TrackerError
from edge.billing.wire import to_wire
from edge.chargers.port import BayStatus
from edge.readings import Grade
from edge.sessions import BayState
from edge.siteconf import load_site
from edge.store.local_store import LocalStore
from edge.uplink.api_schemas import PAYLOADS, validator
from tests.conftest import DEMO

CONFIG = load_site(DEMO)
T0 = 1_800_000_000.0


def ids() -> Any:
    counter = itertools.count(1)
    return lambda: f"{next(counter):032x}"


def status(
    bay: str, state: BayState, energy: float | None, grade: Grade = Grade.FRESH
) -> BayStatus:
    return BayStatus(bay, state, grade, 100_000.0, energy_delivered_wh=energy)


def valid(record: Any) -> None:
    stream, payload = to_wire(record)
    errors = list(validator(PAYLOADS[stream]).iter_errors(payload))
    assert errors == [], (stream, payload, errors)


def test_observed_session_starts_samples_and_ends_with_both_readings() -> None:
    t = SessionTracker(CONFIG, ids(), meter_every_s=60.0)
    assert t.observe([status("B01", BayState.OCCUPIED, None)], T0) == []
    [start] = t.observe([status("B01", BayState.CHARGING, 0.0)], T0 + 5)
    assert isinstance(start, SessionStarted)
    assert (start.bay, start.charger, start.connector_id) == ("B01", "ch01", 1)
    assert start.meter_start_wh == 0.0
    assert start.meter_kind is MeterKind.SESSION
    assert not start.joined  # seen free before: a real start
    assert t.observe([status("B01", BayState.CHARGING, 500.0)], T0 + 30) == []
    [values] = t.observe([status("B01", BayState.CHARGING, 1700.0)], T0 + 65)
    assert values.samples[0].energy_wh == 1700.0
    [end] = t.observe([status("B01", BayState.FINISHING, 2500.0)], T0 + 90)
    assert isinstance(end, SessionEnded)
    assert (end.meter_start_wh, end.meter_stop_wh, end.energy_wh) == (0.0, 2500.0, 2500.0)
    assert end.reason == "finished"
    assert end.session_id == start.session_id
    for r in (start, values, end):
        valid(r)


def test_stale_or_lost_data_never_ends_a_session() -> None:
    t = SessionTracker(CONFIG, ids())
    t.observe([status("B01", BayState.CHARGING, 10.0)], T0)
    for grade in (Grade.STALE, Grade.LOST):
        assert t.observe([status("B01", BayState.AVAILABLE, None, grade)], T0 + 10) == []
    assert "B01" in t.open


def test_a_counter_cleared_at_the_end_keeps_the_last_reading() -> None:
    t = SessionTracker(CONFIG, ids())
    t.observe([status("B01", BayState.CHARGING, 0.0)], T0)
    t.observe([status("B01", BayState.CHARGING, 900.0)], T0 + 70)
    [end] = t.observe([status("B01", BayState.AVAILABLE, 0.0)], T0 + 80)
    assert isinstance(end, SessionEnded)
    assert end.meter_stop_wh == 900.0
    assert end.energy_wh == 900.0
    assert end.reason == "ev-disconnected"


def test_a_counter_that_falls_back_is_a_new_session() -> None:
    t = SessionTracker(CONFIG, ids())
    t.observe([status("B01", BayState.CHARGING, 0.0)], T0)
    t.observe([status("B01", BayState.CHARGING, 900.0)], T0 + 70)
    end, start = t.observe([status("B01", BayState.CHARGING, 20.0)], T0 + 75)
    assert isinstance(end, SessionEnded)
    assert end.reason == "counter-reset"
    assert end.energy_wh == 900.0
    assert isinstance(start, SessionStarted)
    assert start.meter_start_wh == 20.0


def test_a_session_running_when_first_seen_is_marked_joined() -> None:
    t = SessionTracker(CONFIG, ids())
    [start] = t.observe([status("B02", BayState.SUSPENDED_EV, 4000.0)], T0)
    assert isinstance(start, SessionStarted)
    assert start.joined
    valid(start)


def test_reported_sessions_keep_transaction_and_signed_values() -> None:
    t = SessionTracker(CONFIG, ids())
    t.claim(["B03"])
    signed = SignedValue("OCMF|{...}|{SD:...}", "OCMF")
    [start] = t.started(
        "B03", T0, 1_234_000.0, transaction_id="17", id_token="04A1B2C3", signed=signed
    )
    assert t.observe([status("B03", BayState.AVAILABLE, None)], T0 + 1) == []  # claimed
    sample = MeterSample(T0 + 60, 1_250_000.0, 150_000.0, 40.0, signed, "periodic")
    [values] = t.meter_values("B03", [sample], transaction_id="17")
    with pytest.raises(TrackerError, match="transaction '18'"):
        t.meter_values("B03", [sample], transaction_id="18")
    [end] = t.ended("B03", T0 + 120, 1_260_000.0, "EVDisconnected", transaction_id="17")
    assert isinstance(end, SessionEnded)
    assert end.energy_wh == 26_000.0
    assert end.meter_kind is MeterKind.REGISTER
    assert end.id_token == "04A1B2C3"
    assert end.transaction_id == "17"
    for r in (start, values, end):
        valid(r)
    assert to_wire(values)[1]["samples"][0]["signed"]["format"] == "OCMF"
    with pytest.raises(TrackerError, match="no open session"):
        t.ended("B03", T0 + 130, 1.0, "Local")
    with pytest.raises(TrackerError, match="unknown bay"):
        t.started("B99", T0, 0.0)


def test_a_missed_stop_is_closed_when_the_next_start_comes() -> None:
    t = SessionTracker(CONFIG, ids())
    t.started("B03", T0, 100.0, transaction_id="1")
    end, start = t.started("B03", T0 + 600, 900.0, transaction_id="2")
    assert isinstance(end, SessionEnded)
    assert end.reason == "superseded"
    assert isinstance(start, SessionStarted)
    assert start.transaction_id == "2"


states = st.sampled_from(list(BayState))
steps = st.lists(
    st.tuples(states, st.one_of(st.none(), st.floats(0, 1e6)), st.sampled_from(list(Grade))),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps)
def test_every_end_matches_one_start_and_every_record_is_valid(seq: list[Any]) -> None:
    t = SessionTracker(CONFIG, ids(), meter_every_s=10.0)
    records = []
    for i, (state, energy, grade) in enumerate(seq):
        records += t.observe([status("B01", state, energy, grade)], T0 + 7.0 * i)
    opened: set[str] = set()
    for r in records:
        valid(r)
        if isinstance(r, SessionStarted):
            assert not opened, "one open session per bay"
            opened.add(r.session_id)
        elif isinstance(r, SessionEnded):
            assert opened == {r.session_id}
            opened.clear()
        else:
            assert opened == {r.session_id}
    assert opened == ({t.open["B01"].start.session_id} if "B01" in t.open else set())


def test_session_log_offers_each_record_at_once_with_context() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    ctx = Context(booking="bk-1", kind="booked", id_token=None)
    slog = SessionLog(CONFIG, lambda s, p: sent.append((s, p)), context=lambda bay: ctx)
    slog.observe([status("B01", BayState.CHARGING, 0.0)], T0)
    assert [s for s, _ in sent] == ["events/session"]  # the start is queued before any end
    assert sent[0][1]["booking"] == "bk-1"
    assert sent[0][1]["kind"] == "booked"
    slog.claim(["B04"])
    sid = slog.started("B04", T0, 10.0, transaction_id="t1", id_token="AA")
    slog.meter_values("B04", [MeterSample(T0 + 1, 20.0)])
    assert slog.ended("B04", T0 + 2, 30.0, "Local") == sid
    assert [s for s, _ in sent][1:] == ["events/session", "events/meter-values", "events/session"]


def test_session_log_survives_a_failing_sink() -> None:
    def broken(stream: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("outbox closed")

    slog = SessionLog(CONFIG, broken)
    slog.observe([status("B01", BayState.CHARGING, 0.0)], T0)
    assert slog.emit_failures == 1
    assert slog.session_of("B01") is not None


@contextlib.asynccontextmanager
async def running(path: Path, sent: list[Any]) -> AsyncIterator[SessionLog]:
    """A session log over a real store file, its writer task running; both always closed."""
    store = LocalStore(path, wall=lambda: T0)
    await store.open()
    slog = SessionLog(CONFIG, lambda s, p: sent.append((s, p)), store=store)
    slog.claim(["B03"])
    task = asyncio.create_task(slog.run())
    try:
        await slog.load()
        yield slog
        await slog.drain()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await store.close()


async def test_open_sessions_survive_a_restart(tmp_path: Path) -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    path = tmp_path / "site.db"
    async with running(path, sent) as first:
        first.observe([status("B01", BayState.CHARGING, 100.0)], T0)
        signed = SignedValue("x", "OCMF")
        ocpp = first.started("B03", T0, 5_000.0, transaction_id="42", signed=signed)
        first.observe([status("B01", BayState.CHARGING, 900.0)], T0 + 61)  # last reading
    async with running(path, sent) as second:
        second.observe([status("B01", BayState.AVAILABLE, 0.0)], T0 + 300)  # left while down
        assert second.ended("B03", T0 + 310, 9_000.0, "Local", transaction_id="42") == ocpp
    ends = [p for s, p in sent if s == "events/session" and p["event"] == "ended"]
    assert [(e["bay"], e["energy_wh"]) for e in ends] == [("B01", 800.0), ("B03", 4_000.0)]
    starts = [p for s, p in sent if s == "events/session" and p["event"] == "started"]
    assert {e["session_id"] for e in ends} == {e["session_id"] for e in starts}
    store = LocalStore(path, wall=lambda: T0)
    await store.open()
    try:
        assert await store.read("SELECT count(*) FROM billing_open_sessions") == [(0,)]
    finally:
        await store.close()


def test_a_kill_after_the_start_keeps_the_start(tmp_path: Path) -> None:
    """SIGKILL between a session's start and its end: the start is in the outbox file."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.billing_child", "--state", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded by the child's own start; it prints one line
        assert line.startswith("STARTED "), line
        session_id = line.split()[1]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    con = sqlite3.connect(tmp_path / "outbox.db")
    try:
        bodies = [json.loads(b) for (b,) in con.execute("SELECT body FROM outbox")]
    finally:
        con.close()
    starts = [b["payload"] for b in bodies if b["stream"] == "events/session"]
    assert [(s["event"], s["session_id"]) for s in starts] == [("started", session_id)]
