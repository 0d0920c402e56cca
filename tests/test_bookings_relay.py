"""The bookings owner's events are stored with the change they tell and relayed from the
local store into the uplink's outbox, so a crash in the commit window loses none of them
(issue 10, leftover 3): not an `events/booking`, `events/assignment`, `events/audit` nor
`events/admission`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from edge.access.bookings import BookingStatus
from edge.bookings_relay import EventRelay
from edge.clock import SimClock
from edge.gates.store_audit import StoreAudit
from edge.store import LocalStore, audit_rows, bookings_rows
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from tests.test_bookings_owner import HOUR, Owners, booked

ROOT = Path(__file__).resolve().parent.parent
Sent = dict[str, list[dict[str, Any]]]


@pytest.fixture
async def owners(tmp_path: Path) -> AsyncIterator[Owners]:
    o = Owners(tmp_path, SimClock())
    await o.open()
    yield o
    await o.close()


def sent(path: Path) -> Sent:
    """What the outbox file holds, by stream (payloads in commit order)."""
    out: Sent = {}
    with contextlib.closing(sqlite3.connect(path)) as db:
        for stream, body in db.execute("SELECT stream, body FROM outbox ORDER BY id"):
            out.setdefault(stream, []).append(json.loads(body)["payload"])
    return out


async def relay_all(store: LocalStore, path: Path) -> Sent:
    """A fresh outbox (as after a restart) and the relay run until nothing is left."""
    outbox = Outbox(OutboxSettings(path, Budget(10**9, 10**7)), site="hub", boot_id="b")
    writer = asyncio.create_task(outbox.run())
    try:
        await asyncio.wait_for(outbox.ready.wait(), 10)
        relay = EventRelay(store, outbox.accept, outbox.offer, SimClock())
        for _ in range(1000):  # bounded: a batch per step
            if not await asyncio.wait_for(relay.step(), 30):
                break
        await outbox.flush()
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await outbox.close()
    return sent(path)


async def test_the_event_is_stored_before_memory_changes(owners: Owners) -> None:
    b = owners.bookings
    store = b.store
    seen: list[tuple[bool, int]] = []
    original = store.write_all

    async def spy(statements: Any) -> None:
        await original(statements)  # committed: now memory must not have moved yet
        events = await store.read("SELECT payload FROM booking_events")
        seen.append((b.get("bk-1") is None, len(events)))

    store.write_all = spy  # type: ignore[method-assign]
    await b.upsert(booked(owners), by="cloud")
    assert seen == [(True, 1)]
    assert b.get("bk-1") is not None


async def test_a_crash_right_after_the_commit_loses_no_event(
    owners: Owners, tmp_path: Path
) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR - 600)
    await b.tick()  # an assignment
    await StoreAudit(b).drain()
    audit = StoreAudit(b)
    audit.record("admission", gate="in-1", reader="rfid", credential="rfid", reason="Full",
                 detail="no bay", booking="")  # fmt: skip
    await audit.drain()
    await b.cancel("bk-1", by="bob")
    # the process dies here: nothing was relayed (no outbox at all in this process)
    await owners.close()
    again = await owners.open()
    got = await relay_all(again.store, tmp_path / "outbox.db")
    assert [e["event"] for e in got["events/booking"]] == ["booking-upsert", "booking-cancel"]
    assert got["events/booking"][-1]["booking"]["status"] == BookingStatus.CANCELED.value
    assert [(e["booking"], e["to_bay"]) for e in got["events/assignment"]] == [("bk-1", "B01")]
    entries = await audit_rows.read(again.store)
    assert [e["seq"] for e in got["events/audit"]] == [e.seq for e in entries]
    assert [e["reason"] for e in got["events/admission"]] == ["Full"]
    assert await again.store.read("SELECT * FROM booking_events") == []  # handed over
    again_got = await relay_all(again.store, tmp_path / "outbox2.db")  # cursor kept
    assert again_got == {}
    # handed-over rows are deleted: a later event must not reuse their ids under the cursor
    await again.upsert(booked(owners, "bk-2"), by="cloud")
    later = await relay_all(again.store, tmp_path / "outbox3.db")
    assert [e["booking"]["id"] for e in later["events/booking"]] == ["bk-2"]


async def test_an_event_row_that_cannot_be_stored_takes_its_change_with_it(
    owners: Owners,
) -> None:
    store = owners.bookings.store
    await store.write(
        "CREATE TRIGGER refuse BEFORE INSERT ON booking_events "
        "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
    )
    offered: list[str] = []

    class Fallback:
        def wake(self) -> None: ...
        def offer(self, stream: str, payload: dict[str, Any]) -> None:
            offered.append(stream)

    owners.bookings.relay = Fallback()
    await owners.bookings.upsert(booked(owners), by="cloud")
    assert await bookings_rows.load(store) == []  # the row went with its event: neither
    assert await audit_rows.read(store) == []
    assert owners.bookings.get("bk-1") is not None  # the site still acts on it
    assert offered == ["events/booking"]  # and the outbox still gets it, best effort


async def spawn(state: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bookings_child", "--state", str(state),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def kill_after(proc: asyncio.subprocess.Process, marker: bytes) -> None:
    assert proc.stdout is not None
    for _ in range(10_000):  # bounded: a line per upsert
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line or line.strip() == marker:
            break
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


@pytest.mark.parametrize("marker", [b"U 5", b"U 23"])
async def test_kill_9_while_changing_loses_no_event(tmp_path: Path, marker: bytes) -> None:
    await kill_after(await spawn(tmp_path), marker)
    store = LocalStore(tmp_path / "site.db")
    await store.open()
    try:
        got = await relay_all(store, tmp_path / "outbox.db")
        entries = await audit_rows.read(store)
        bookings = await bookings_rows.load(store)
        changes = await bookings_rows.history(store)
    finally:
        await store.close()
    assert entries, "the child stored nothing before it was killed"
    audit_seqs = [e["seq"] for e in got["events/audit"]]
    assert sorted(set(audit_seqs)) == [e.seq for e in entries]  # every entry, maybe twice
    told = {(e["booking"]["id"], e["booking"]["version"]) for e in got["events/booking"]}
    assert {(bk.id, bk.version) for bk, _ in bookings} <= told  # every stored version told
    assignments = {(e["booking"], e["to_bay"], e["reason"]) for e in got["events/assignment"]}
    assert {(c.booking, c.to_bay, c.reason) for c in changes} <= assignments
