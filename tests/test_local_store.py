"""The local store (migrations, a corrupt file quarantined, reopen persists) and the
availability owner over it (persisted before answering, lapses published, no store)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from edge.availability import Source, View
from edge.availability_owner import AvailabilityOwner
from edge.clock import SimClock
from edge.siteconf import load_site
from edge.store import LocalStore
from edge.store.migrations import MIGRATIONS
from edge.uplink.availability import command, import_legacy, state_payload
from tests.conftest import DEMO


@pytest.fixture
async def opened() -> AsyncIterator[list[LocalStore]]:
    """Stores to close even when a test fails: an open aiosqlite thread keeps pytest alive."""
    stores: list[LocalStore] = []
    yield stores
    for store in stores:
        await store.close()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


async def test_migrations_run_once_each_and_a_later_step_keeps_the_data(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    path = tmp_path / "site.db"
    store = LocalStore(path)
    opened.append(store)
    await store.open()
    assert await store.user_version() == len(MIGRATIONS)
    await store.write("INSERT INTO availability VALUES (NULL,'B01','bay',0,'x',1,NULL,'cloud','c')")
    await store.close()
    # A later release appends a step; reopening runs only that one.
    step = "CREATE TABLE later_step (id TEXT PRIMARY KEY, version INTEGER NOT NULL);"
    store = LocalStore(path, migrations=(*MIGRATIONS, step))
    opened.append(store)
    await store.open()
    assert await store.user_version() == len(MIGRATIONS) + 1
    assert await store.read("SELECT target FROM availability") == [("B01",)]
    await store.close()
    assert {"availability", "later_step"} <= tables(path)
    assert store.alarm is None


async def test_a_failing_step_leaves_the_version_and_schema_as_they_were(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    path = tmp_path / "site.db"
    bad = (*MIGRATIONS, "CREATE TABLE half (x INTEGER); CREATE TABLE availability (y);")
    store = LocalStore(path, migrations=bad)
    opened.append(store)
    with pytest.raises(Exception, match="already exists"):
        await store.open()
    await store.close()
    assert "half" not in tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


async def test_a_newer_schema_is_used_not_touched(opened: list[LocalStore], tmp_path: Path) -> None:
    path = tmp_path / "site.db"
    store = LocalStore(path, migrations=(*MIGRATIONS, "CREATE TABLE later (x);"))
    opened.append(store)
    await store.open()
    await store.close()
    store = LocalStore(path)
    opened.append(store)
    await store.open()
    assert await store.user_version() == len(MIGRATIONS) + 1
    await store.close()


@pytest.mark.parametrize("damage", ["garbage", "torn_page"])
async def test_a_corrupt_file_is_quarantined_and_a_fresh_one_started(
    opened: list[LocalStore], tmp_path: Path, damage: str
) -> None:
    path = tmp_path / "site.db"
    if damage == "garbage":
        path.write_bytes(b"this is not a database" * 300)
    else:  # a valid header, then a page of noise: SQLite reads it as corrupt
        store = LocalStore(path)
        opened.append(store)
        await store.open()
        for i in range(200):
            await store.write(
                "INSERT INTO availability VALUES (NULL,?,'bay',0,?,1,NULL,'cloud','c')",
                (f"B{i}", "x" * 200),
            )
        await store.close()
        raw = bytearray(path.read_bytes())
        raw[4096 : 4096 * 3] = b"\xa5" * (4096 * 2)
        path.write_bytes(bytes(raw))
    before = path.read_bytes()
    store = LocalStore(path, wall=lambda: 1_800_000_000.0)
    opened.append(store)
    await store.open()  # never raises for a damaged file
    assert store.quarantined == tmp_path / "site.db.corrupt-20270115T080000"
    assert store.quarantined.read_bytes() == before
    assert store.alarm is not None
    assert "quarantined as site.db.corrupt-" in store.alarm
    assert await store.read("SELECT count(*) FROM availability") == [(0,)]
    await store.close()


def owner_for(tmp_path: Path, clock: SimClock, opened: list[LocalStore]) -> AvailabilityOwner:
    config = load_site(DEMO)
    config = replace(config, storage=replace(config.storage, state_dir=tmp_path))
    store = LocalStore(tmp_path / "site.db", wall=clock.wall)
    opened.append(store)
    return AvailabilityOwner(config, clock, store)


async def test_reopen_persists_and_a_lapse_is_published(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    clock = SimClock()
    owner = owner_for(tmp_path, clock, opened)
    await owner.load()
    heard: list[View] = []
    owner.listen(heard.append)
    now = clock.wall()
    await owner.change(
        "B02",
        available=False,
        reason="cable swap",
        until=now + 600,
        source=Source.TECHNICIAN,
        by="al",
    )
    await command(owner, {"target": "ch02", "available": False, "reason": "fuse"})
    assert [v.unavailable_bays for v in heard] == [("B02",), ("B02", "B03", "B04")]
    await owner.close()

    again = owner_for(tmp_path, clock, opened)  # a restart: the same facts, reasons and sources
    await again.load()
    payload = state_payload(again.view())
    assert payload["unavailable_bays"] == ["B02", "B03", "B04"]
    assert payload["out_of_service"]["B02"]["reason"] == "cable swap"
    assert payload["out_of_service"]["B02"]["expected_end"] is not None
    assert {c.source for c in again.changes()} == {Source.TECHNICIAN, Source.CLOUD}

    heard2: list[View] = []
    again.listen(heard2.append)
    runner = asyncio.create_task(again.run())
    for _ in range(1000):  # bounded: step virtual time past the `until`
        await asyncio.sleep(0)
        if clock.next_deadline() is not None:
            clock.advance(61)
        if heard2:
            break
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    assert heard2
    assert heard2[-1].unavailable_bays == ("B03", "B04")
    await again.close()


async def test_bad_changes_are_refused_and_nothing_is_kept(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    clock = SimClock()
    owner = owner_for(tmp_path, clock, opened)
    await owner.load()
    now = clock.wall()
    for target, until, error in (
        ("B99", None, "neither a bay nor a charger"),
        ("B01", now - 1, "not in the future"),
        ("B01", None, "reason: required"),
    ):
        with pytest.raises(ValueError, match=error):
            await owner.change(
                target,
                available=False,
                reason="x" if "reason" not in error else "",
                until=until,
                source=Source.TECHNICIAN,
                by="al",
            )
    with pytest.raises(ValueError, match="days ahead"):
        await command(
            owner,
            {
                "target": "B01",
                "available": False,
                "reason": "x",
                "expected_end": "9999-12-31T23:59-14:00",
            },
        )
    with pytest.raises(ValueError, match="needs an offset"):
        await command(
            owner,
            {
                "target": "B01",
                "available": False,
                "reason": "x",
                "expected_end": "2030-01-01T10:00",
            },
        )
    assert owner.changes() == []
    await owner.close()


async def test_without_a_usable_store_a_disable_is_still_obeyed_and_warned(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    (tmp_path / "site.db").mkdir()  # a directory where the file belongs: cannot open
    clock = SimClock()
    owner = owner_for(tmp_path, clock, opened)
    await owner.load()
    v = await owner.change(
        "B01", available=False, reason="smoke", until=None, source=Source.TECHNICIAN, by="al"
    )
    assert v.unavailable_bays == ("B01",)
    assert any("not persisted" in w for w in owner.warnings)
    await owner.close()


async def test_an_upgrade_takes_over_what_the_outbox_file_kept_once(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    outbox = tmp_path / "uplink" / "outbox.db"
    outbox.parent.mkdir()
    legacy = {
        "B01": {"kind": "bay", "reason": "cable", "since": "x", "expected_end": None},
        "B77": {"kind": "bay", "reason": "gone from the site file", "expected_end": None},
    }
    with contextlib.closing(sqlite3.connect(outbox)) as db, db:
        db.execute("CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO kv VALUES ('bay_availability', ?)", (json.dumps(legacy),))
    clock = SimClock()
    owner = owner_for(tmp_path, clock, opened)
    await owner.load()
    assert await import_legacy(owner, tmp_path) == 1
    assert owner.view().out_of_service["B01"].reason == "cable"
    await owner.change(
        "B01", available=True, reason="fixed", until=None, source=Source.TECHNICIAN, by="al"
    )
    await owner.close()
    again = owner_for(tmp_path, clock, opened)  # not again: the store is no longer new
    await again.load()
    assert await import_legacy(again, tmp_path) == 0
    assert again.view().unavailable_bays == ()
    await again.close()
    # A store replaced after corruption is not new: the outbox's old facts are stale by then.
    (tmp_path / "site.db").write_bytes(b"not a database" * 500)
    third = owner_for(tmp_path, clock, opened)
    await third.load()
    assert third.store.quarantined is not None
    assert await import_legacy(third, tmp_path) == 0
    assert third.view().unavailable_bays == ()
    await third.close()


async def test_a_row_this_release_cannot_read_is_skipped_not_fatal(
    opened: list[LocalStore], tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "site.db")
    opened.append(store)
    await store.open()
    await store.write(
        "INSERT INTO availability VALUES (NULL,'B01','bay',0,'x','soon',NULL,'cloud','c')"
    )
    await store.write("INSERT INTO availability VALUES (NULL,'B02','bay',0,'y',1,NULL,'cloud','c')")
    await store.close()
    owner = owner_for(tmp_path, SimClock(), opened)
    await owner.load()
    assert owner.view().unavailable_bays == ("B02",)
    await owner.close()
