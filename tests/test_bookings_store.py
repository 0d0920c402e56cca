"""The bookings migration, the assignment history and the hash-chained audit log."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.access.assignment import Change
from edge.access.bookings import Booking, Credentials, Period, Phase
from edge.siteconf.model import Connector, InletSide
from edge.store import LocalStore, StoreUnavailable, audit_rows, bookings_rows
from edge.store.migrations import MIGRATIONS

T0 = 1_800_000_000.0


def booking(bid: str = "bk-1", version: int = 1, start: float = T0) -> Booking:
    return Booking(
        bid,
        version,
        Period(start, start + 3600),
        Connector.CCS,
        InletSide.LEFT,
        "main",
        Credentials(tractor_plate="1-ABC-123"),
        phase=Phase.ADMITTED,
        phase_at=T0 - 60,
        updated_at=T0 - 3600,
    )


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[LocalStore]:
    s = LocalStore(tmp_path / "site.db")
    await s.open()
    yield s
    await s.close()


async def test_migration_2_adds_the_access_tables(store: LocalStore) -> None:
    assert await store.user_version() == len(MIGRATIONS) == 7  # 6: auth list, 7: billing sessions
    names = {r[0] for r in await store.read("SELECT name FROM sqlite_master WHERE type='table'")}
    access = {"bookings", "assignments", "audit", "ledger", "booking_events", "relay_cursor"}
    assert {"availability", *access} <= names
    assert {"auth_list", "auth_list_parts", "billing_open_sessions"} <= names


async def test_a_version_1_file_is_upgraded_keeping_its_availability(tmp_path: Path) -> None:
    old = LocalStore(tmp_path / "old.db", migrations=MIGRATIONS[:1])
    await old.open()
    await old.write("INSERT INTO availability VALUES (NULL,'B01','bay',0,'x',1,NULL,'cloud','c')")
    await old.close()
    new = LocalStore(tmp_path / "old.db")
    await new.open()
    try:
        assert await new.user_version() == len(MIGRATIONS)
        assert await new.read("SELECT count(*) FROM ledger") == [(0,)]
        assert await new.read("SELECT target FROM availability") == [("B01",)]
        assert await new.read("SELECT count(*) FROM audit") == [(0,)]
    finally:
        await new.close()


async def test_bookings_and_history_round_trip_across_reopen(
    store: LocalStore, tmp_path: Path
) -> None:
    await bookings_rows.save(store, booking(version=1), None)
    await bookings_rows.save(store, booking(version=2), "B01")  # the latest version replaces
    await bookings_rows.save_change(store, Change("bk-1", None, "B01", "assigned", T0))
    await bookings_rows.save_change(store, Change("bk-1", "B01", "B03", "bay disabled", T0 + 1))
    await store.close()
    again = LocalStore(tmp_path / "site.db")
    await again.open()
    try:
        rows = await bookings_rows.load(again)
        assert rows == [(booking(version=2), "B01")]
        history = await bookings_rows.history(again, "bk-1")
        assert [c.reason for c in history] == ["assigned", "bay disabled"]
        assert bookings_rows.current(history) == {"bk-1": "B03"}
    finally:
        await again.close()


async def test_an_unreadable_booking_row_is_skipped_not_fatal(store: LocalStore) -> None:
    await bookings_rows.save(store, booking("good"), None)
    await store.write(
        "INSERT INTO bookings (id, version, start, body) VALUES ('bad', 1, 0, '{\"id\": 1}')"
    )
    assert [b.id for b, _ in await bookings_rows.load(store)] == ["good"]


async def fill(store: LocalStore, n: int = 5) -> audit_rows.AuditLog:
    log = audit_rows.AuditLog(store)
    for i in range(n):
        await log.append("booking-upsert", f"bk-{i}", "cloud", {"version": i, "é": "ü"}, T0 + i)
    return log


async def test_the_audit_chain_verifies_and_continues_after_reopen(
    store: LocalStore, tmp_path: Path
) -> None:
    await fill(store, 3)
    await store.close()
    again = LocalStore(tmp_path / "site.db")
    await again.open()
    try:
        entry = await audit_rows.AuditLog(again).append("no-show", "bk-9", "site", {}, T0 + 9)
        assert entry.seq == 4
        verdict = await audit_rows.verify(again)
        assert verdict.ok
        assert verdict.entries == 4
    finally:
        await again.close()


async def test_the_store_refuses_to_update_or_delete_an_audit_entry(store: LocalStore) -> None:
    await fill(store, 2)
    with pytest.raises(StoreUnavailable, match="append-only"):
        await store.write("UPDATE audit SET by='mallory' WHERE seq=1")
    with pytest.raises(StoreUnavailable, match="append-only"):
        await store.write("DELETE FROM audit WHERE seq=2")
    assert (await audit_rows.verify(store)).ok


def tamper(path: Path, sql: str) -> None:
    """What a hand edit does: drop the triggers, change the row."""
    with sqlite3.connect(path) as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute(sql)


@pytest.mark.parametrize(
    ("sql", "bad_seq"),
    [
        ("UPDATE audit SET by='mallory' WHERE seq=3", 3),
        ('UPDATE audit SET detail=\'{"version":99,"é":"ü"}\' WHERE seq=2', 2),
        ("DELETE FROM audit WHERE seq=2", 3),
        ("UPDATE audit SET at=at+1 WHERE seq=5", 5),
    ],
)
async def test_a_tampered_row_breaks_the_chain(
    store: LocalStore, tmp_path: Path, sql: str, bad_seq: int
) -> None:
    await fill(store, 5)
    assert (await audit_rows.verify(store)).ok
    tamper(tmp_path / "site.db", sql)
    verdict = await audit_rows.verify(store)
    assert not verdict.ok
    assert verdict.first_bad == bad_seq


async def test_a_rewritten_chain_tail_does_not_verify_with_the_old_hashes(
    store: LocalStore, tmp_path: Path
) -> None:
    """Swapping two entries' bodies (keeping the hashes in place) is caught too."""
    await fill(store, 3)
    tamper(tmp_path / "site.db", "UPDATE audit SET subject='bk-0' WHERE seq=2")
    verdict = await audit_rows.verify(store)
    assert (verdict.ok, verdict.first_bad) == (False, 2)
