"""The durable outbox against a real SQLite file in tmp (no broker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from edge.clock import SimClock
from edge.uplink.outbox import Outbox, OutboxSettings, OutboxSpilled
from edge.uplink.policy import Budget, MsgClass

T0 = 1_767_225_600.0


def settings(path: Path, total: int = 10**9, reserve: int = 10**6, **kw: object) -> OutboxSettings:
    return OutboxSettings(path, Budget(total, reserve), commit_window_s=0.01, **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def running(s: OutboxSettings, clock: SimClock | None = None) -> AsyncIterator[Outbox]:
    box = Outbox(s, site="hub-1", boot_id="boot-a", clock=clock or SimClock(T0))
    task = asyncio.create_task(box.run())
    await asyncio.wait_for(box.ready.wait(), 10)
    try:
        yield box
    finally:
        await box.flush()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await box.close()


async def settle(box: Outbox) -> None:
    """Commit everything offered now (the writer would, at the end of its window)."""
    await box.flush()
    assert not box._pending
    assert not box._acked


async def all_rows(box: Outbox, cls: MsgClass) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in await box.read(cls, 0, 100_000)]


async def test_accepted_event_survives_reopen_and_seq_continues(tmp_path: Path) -> None:
    s = settings(tmp_path / "o.db")
    async with running(s) as box:
        ids = [await box.accept("events/session", {"n": i}) for i in range(3)]
    async with running(s) as box:
        rows = await all_rows(box, MsgClass.EVENT)
        assert [r["msg_id"] for r in rows] == ids
        assert [r["seq"] for r in rows] == [1, 2, 3]
        await box.accept("events/session", {"n": 3})
        rows = await all_rows(box, MsgClass.EVENT)
        assert rows[-1]["seq"] == 4
        assert rows[0]["boot_id"] == "boot-a"
        assert rows[0]["site"] == "hub-1"
        assert rows[0]["clock_ok"] is True


async def test_offer_commits_in_order_and_ack_deletes(tmp_path: Path) -> None:
    async with running(settings(tmp_path / "o.db")) as box:
        for i in range(50):
            box.offer("telemetry/site", {"i": i})
        await settle(box)
        rows = await box.read(MsgClass.TELEMETRY, 0, 1000)
        assert [json.loads(r.body)["payload"]["i"] for r in rows] == list(range(50))
        box.ack(r.id for r in rows[:20])
        await settle(box)
        left = await box.read(MsgClass.TELEMETRY, 0, 1000)
        assert [r.id for r in left] == [r.id for r in rows[20:]]
        assert box.counts[MsgClass.TELEMETRY] == 30


async def test_state_keeps_latest_per_stream(tmp_path: Path) -> None:
    async with running(settings(tmp_path / "o.db")) as box:
        box.offer("state/bay-availability", {"v": 1})
        await settle(box)
        box.offer("state/bay-availability", {"v": 2})
        box.offer("state/site", {"v": 9})
        await settle(box)
        rows = await all_rows(box, MsgClass.STATE)
        assert sorted((r["stream"], r["payload"]["v"]) for r in rows) == [  # type: ignore[index]
            ("state/bay-availability", 2),
            ("state/site", 9),
        ]
        assert box.counts[MsgClass.STATE] == 2


async def test_small_budget_evicts_telemetry_keeps_events_and_alarms(tmp_path: Path) -> None:
    clock = SimClock(T0)
    s = settings(tmp_path / "o.db", total=60_000, reserve=20_000)
    async with running(s, clock) as box:
        events = []
        for i in range(400):
            clock.advance(0.5)
            box.offer("telemetry/site", {"i": i, "pad": "x" * 200})
            if i % 20 == 0:
                events.append(await box.accept("events/alarm", {"i": i}))
        await settle(box)
        assert box.usage.telemetry_bytes <= 60_000 - max(20_000, box.usage.event_bytes)
        assert [r["msg_id"] for r in await all_rows(box, MsgClass.EVENT)] == events
        assert box.counters["downsampled"] + box.counters["evicted"] > 0
        assert "buffer_budget" in box.alarms.active or box.counters["evicted"] == 0
        kept = [r["payload"]["i"] for r in await all_rows(box, MsgClass.TELEMETRY)]  # type: ignore[index]
        assert kept == sorted(kept)
        assert kept[-1] == 399


async def test_disk_full_spills_events_raises_alarm_never_drops(tmp_path: Path) -> None:
    s = settings(tmp_path / "o.db", max_pages=40)
    async with running(s) as box:
        accepted, spilled = [], 0
        for i in range(400):
            try:
                accepted.append(await box.accept("events/session", {"i": i, "pad": "y" * 400}))
            except OutboxSpilled:
                spilled += 1
        assert spilled > 0
        assert accepted
        assert "buffer_disk_full" in box.alarms.active
        rows = await all_rows(box, MsgClass.EVENT)
        assert [r["msg_id"] for r in rows] == accepted  # every committed one is there
        assert len(box._spill) == spilled  # the rest is held in memory, in order
        held = [r.seq for r, _ in box._spill]
        assert held == sorted(held)
        # Room comes back (the drain delivered rows): the spill is committed, alarm cleared.
        for _ in range(20):  # bounded: each round frees what was delivered
            box.ack(r.id for r in await box.read(MsgClass.EVENT, 0, 100_000))
            await box.flush()
            if not box._spill:
                break
        assert not box._spill
        assert "buffer_disk_full" not in box.alarms.active
        assert box.counters["accepted"] == 400  # every event committed in the end


async def test_disk_full_evicts_telemetry_before_holding_events(tmp_path: Path) -> None:
    s = settings(tmp_path / "o.db", max_pages=80)
    async with running(s) as box:
        for i in range(60):  # far more telemetry than the "disk" holds, in small commits
            for j in range(20):
                box.offer("telemetry/site", {"i": i * 20 + j, "pad": "z" * 300})
            await settle(box)
        assert box.counters["evicted"] > 0, "the page cap was reached and relieved"
        assert box.counters["dropped_disk_full"] == 0  # old telemetry made room for new
        assert box.counts[MsgClass.TELEMETRY] > 0
        for i in range(20):  # every event still fits: telemetry makes room
            await box.accept("events/alarm", {"i": i, "pad": "e" * 300})
        assert box.counts[MsgClass.EVENT] == 20
        kept = [r["payload"]["i"] for r in await all_rows(box, MsgClass.TELEMETRY)]  # type: ignore[index]
        assert kept == sorted(kept)


async def test_garbage_file_is_quarantined_and_fresh_store_works(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not sqlite" * 1000)
    async with running(settings(path)) as box:
        assert "buffer_corrupt" in box.alarms.active
        await box.accept("events/alarm", {"ok": True})
        assert box.counts[MsgClass.EVENT] == 1
    assert quarantined(tmp_path)


async def test_damaged_pages_salvage_readable_rows(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    s = settings(path)
    async with running(s) as box:
        ids = [await box.accept("events/session", {"i": i, "pad": "p" * 500}) for i in range(300)]
    data = bytearray(path.read_bytes())
    page = 4096
    for p in range(len(data) // page // 2, len(data) // page // 2 + 2):  # two pages mid-file
        data[p * page : p * page + page] = b"\xff" * page
    path.write_bytes(bytes(data))
    async with running(s) as box:
        assert "buffer_corrupt" in box.alarms.active
        rows = await all_rows(box, MsgClass.EVENT)
        got = [r["msg_id"] for r in rows]
        assert 0 < len(got) < 300
        assert set(got) <= set(ids)
        assert got == [i for i in ids if i in set(got)]
        nxt = await box.accept("events/session", {"after": True})
        last = (await all_rows(box, MsgClass.EVENT))[-1]
        assert last["msg_id"] == nxt
        assert last["seq"] > max(int(r["seq"]) for r in rows)


def quarantined(folder: Path) -> list[Path]:
    return list(folder.glob("o.db.corrupt-*"))


def test_bad_stream_names_are_refused(tmp_path: Path) -> None:
    box = Outbox(settings(tmp_path / "o.db"), site="s", boot_id="b")
    for bad in ("", "/x", "a//b", "a/+", "A/b", "x/#"):
        with pytest.raises(ValueError, match="stream"):
            box.offer(bad, {})
