"""A full or read-only disk, on a real size-limited tmpfs: the writer never dies, the alarm
comes with the first refused write, events wait in the memory spill, commands get an
answer with the reason, the fault shows in `edge status`, everything recovers once there
is room, and closing is quick in every state."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO

import pytest

from edge.clock import SimClock
from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.status import with_uplink
from edge.uplink.outbox import Outbox, OutboxSettings, OutboxSpilled
from edge.uplink.policy import Budget, MsgClass
from edge.uplink.records import DurableRecords
from edge.uplink.store_errors import StoreError, StoreFull
from tests.conftest import DEMO
from tests.small_fs import read_only, small_tmpfs

T0 = 1_767_225_600.0
CLOSE_WITHIN_S = 5.0


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs of the test's own, unmounted at the end."""
    with small_tmpfs(tmp_path / "fs") as where:
        yield where


def fill(path: Path) -> None:
    """Write until the filesystem refuses (bounded by its size)."""
    with path.open("wb") as f:
        for _ in range(10_000):
            if not write_chunk(f):
                return
    raise AssertionError("the filesystem never filled")


def write_chunk(f: BinaryIO) -> bool:
    """False once the filesystem is full."""
    try:
        f.write(b"\0" * 16384)
        f.flush()
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        return False
    return True


@contextlib.asynccontextmanager
async def running(path: Path, clock: SimClock) -> AsyncIterator[tuple[Outbox, asyncio.Task[None]]]:
    s = OutboxSettings(path, Budget(10**9, 10**6), commit_window_s=0.01)
    box = Outbox(s, site="hub-1", boot_id="b", clock=clock)
    task = asyncio.create_task(box.run())
    try:
        yield box, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.wait_for(box.close(), CLOSE_WITHIN_S)


async def until(check: object, clock: SimClock, what: str) -> None:
    """Step the clock (the writer's retry timer) until `check()` holds; bounded."""
    for _ in range(200):
        if check():  # type: ignore[operator]
            return
        clock.advance(1.0)
        await asyncio.sleep(0.02)
    raise AssertionError(f"never: {what}")


async def fill_until_refused(box: Outbox) -> int:
    """Telemetry and events until an accept is refused; how many events were committed."""
    for i in range(5000):  # bounded: 3 MB cannot take this many
        box.offer("telemetry/site", {"i": i, "pad": "t" * 400})
        try:
            await asyncio.wait_for(box.accept("events/session", {"i": i, "pad": "e" * 800}), 10)
        except OutboxSpilled:
            return i
    raise AssertionError("the store never refused a write")


async def test_full_disk_holds_alarms_answers_and_recovers(small_fs: Path) -> None:
    clock = SimClock(T0)
    async with running(small_fs / "uplink" / "outbox.db", clock) as (box, task):
        records = DurableRecords(box)
        await asyncio.wait_for(box.ready.wait(), 10)
        for i in range(300):  # telemetry on file: the relief path has something to evict
            box.offer("telemetry/site", {"i": i, "pad": "t" * 400})
        await box.flush()
        fill(small_fs / "filler")
        committed = await fill_until_refused(box)
        assert "buffer_disk_full" in box.alarms.active  # with the first refused write
        assert box.fault is not None
        assert "full" in box.fault
        with pytest.raises(OutboxSpilled):  # events keep going to the memory spill
            await asyncio.wait_for(box.accept("events/session", {"more": True}), 10)
        assert box.spilled >= 2
        with pytest.raises(StoreError, match="full"):  # a command gets the reason, not a hang
            await asyncio.wait_for(
                records.record_commands([("r1", "ping", "received", "", None)]), 10
            )
        for _ in range(3):  # the writer retries and survives
            clock.advance(box.settings.retry_s)
            await box.step()
        assert not task.done()
        (small_fs / "filler").unlink()  # room again
        await until(lambda: box.spilled == 0, clock, "the spill committed")
        assert box.fault is None
        assert "buffer_disk_full" not in box.alarms.active
        await records.record_commands([("r2", "ping", "received", "", None)])
        assert await records.command_state("r2") == "received"
        events = [json.loads(r.body) for r in await box.read(MsgClass.EVENT, 0, 10**6)]
        sessions = [e for e in events if e["stream"] == "events/session"]
        assert len(sessions) == committed + 2  # every event: none dropped
        assert [e["seq"] for e in sessions] == sorted(e["seq"] for e in sessions)


async def test_read_only_state_dir_is_a_fault_not_a_crash_and_recovers(small_fs: Path) -> None:
    read_only(small_fs, True)
    clock = SimClock(T0)
    try:
        async with running(small_fs / "state" / "uplink" / "outbox.db", clock) as (box, task):
            await until(lambda: "buffer_unavailable" in box.alarms.active, clock, "the alarm")
            assert box.fault is not None
            assert "Read-only" in box.fault
            assert not box.ready.is_set()
            with pytest.raises(OutboxSpilled):
                await asyncio.wait_for(box.accept("events/session", {"held": True}), 10)
            with pytest.raises(StoreError, match="not open"):
                await DurableRecords(box).record_commands([("r1", "ping", "received", "", None)])
            assert not task.done()
            status = with_uplink(
                {"uplink": {}, "warnings": []}, {"buffer_fault": box.fault, "buffer_depth": None}
            )
            assert status["warnings"] == [f"uplink buffer: {box.fault}"]
            read_only(small_fs, False)
            await until(lambda: box.ready.is_set() and box.spilled == 0, clock, "reopened")
            assert box.fault is None
            events = [json.loads(r.body) for r in await box.read(MsgClass.EVENT, 0, 100)]
            assert [e["payload"] for e in events if e["stream"] == "events/session"] == [
                {"held": True}
            ]
    finally:
        read_only(small_fs, False)


async def test_relief_that_fails_on_a_full_disk_does_not_stop_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimClock(T0)
    async with running(tmp_path / "o.db", clock) as (box, task):
        await asyncio.wait_for(box.ready.wait(), 10)
        box.offer("telemetry/site", {"i": 0})
        await box.flush()

        def full(*args: object, **kw: object) -> None:
            raise StoreFull("outbox: disk or page budget full: test (commit)")

        monkeypatch.setattr(box.db, "commit", full)
        monkeypatch.setattr(box.db, "delete", full)  # the emergency relief's DELETE too
        with pytest.raises(OutboxSpilled):
            await asyncio.wait_for(box.accept("events/alarm", {"i": 1}), 10)
        assert "buffer_disk_full" in box.alarms.active
        assert not task.done()
        monkeypatch.undo()
        await until(lambda: box.spilled == 0, clock, "the spill committed")
        assert box.counts[MsgClass.EVENT] == 1  # the held event, committed


async def test_state_dir_under_a_read_only_parent_is_one_clear_line(
    small_fs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    read_only(small_fs, True)
    try:
        config = load_site(DEMO)
        config = replace(config, storage=replace(config.storage, state_dir=small_fs / "state"))
        daemon = Daemon(config, socket_path=small_fs.parent / "edge.sock")
        with caplog.at_level(logging.ERROR):
            assert await asyncio.wait_for(daemon.run(), 20) == 1
        lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert [r.getMessage().split()[0] for r in lines] == ["not_starting"]
        assert "state_dir or socket directory unusable" in lines[0].getMessage()
        assert all(r.exc_info is None for r in lines)
    finally:
        read_only(small_fs, False)


async def test_corrupt_file_on_a_read_only_disk_is_quarantined_once_writable(
    small_fs: Path,
) -> None:
    path = small_fs / "o.db"
    path.write_bytes(b"this is not sqlite" * 1000)
    read_only(small_fs, True)
    clock = SimClock(T0)
    try:
        async with running(path, clock) as (box, task):
            await until(lambda: "buffer_unavailable" in box.alarms.active, clock, "the alarm")
            assert "quarantine failed" in (box.fault or "")
            assert not task.done()
            read_only(small_fs, False)
            await until(box.ready.is_set, clock, "quarantined and reopened")
            assert "buffer_corrupt" in box.alarms.active
            assert box.fault is None
            assert quarantined(small_fs)
    finally:
        read_only(small_fs, False)


def quarantined(folder: Path) -> list[Path]:
    return list(folder.glob("o.db.corrupt-*"))
