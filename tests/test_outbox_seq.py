"""Every stream's seq strictly increases across restarts, kills (at start, before and
after the outbox opens), deliveries that empty the file, and a quarantined file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import signal
import sqlite3
import sys
from pathlib import Path

from edge.clock import SimClock
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget, MsgClass

ROOT = Path(__file__).resolve().parents[1]
CYCLES = 16
Seen = list[tuple[int, str, int, str]]  # (id, stream, seq, msg_id)


async def spawn(state: Path, boot: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.store_child", "--state", str(state), "--boot", boot,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def kill_at(proc: asyncio.subprocess.Process, marker: bytes, extra_lines: int) -> None:
    """Kill once the child printed `marker` (and `extra_lines` more); b"" kills at once."""
    assert proc.stdout is not None
    if marker:
        for _ in range(10_000):  # bounded: the child prints a line per accept
            line = await asyncio.wait_for(proc.stdout.readline(), 60)
            if not line or line.strip() == marker:
                break
        for _ in range(extra_lines):
            await asyncio.wait_for(proc.stdout.readline(), 60)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()


def collect(path: Path, after_id: int, deliver: bool) -> Seen:
    """Rows committed since `after_id`; with `deliver`, delete them as the drain would."""
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        sql = "SELECT id, stream, seq, body FROM outbox WHERE id>? ORDER BY id"
        rows = [
            (int(i), str(s), int(q), json.loads(b)["msg_id"])
            for i, s, q, b in db.execute(sql, (after_id,))
        ]
        if deliver:
            db.execute("DELETE FROM outbox")
    return rows


def assert_strictly_increasing(seen: Seen) -> None:
    last: dict[str, int] = {}
    for _, stream, seq, _ in sorted(seen):
        assert seq > last.get(stream, 0), f"{stream}: seq {seq} after {last.get(stream)}"
        last[stream] = seq
    ids = [m for *_, m in seen]
    assert len(ids) == len(set(ids)), "a msg_id was committed twice"


async def test_seq_strictly_increases_across_kills_at_every_point(tmp_path: Path) -> None:
    rnd = random.Random(7)
    state = tmp_path / "state"
    seen: Seen = []
    points = [(b"", 0), (b"PRE", 0), (b"OPEN", 0), (b"OPEN", 3), (b"A 0", 0)]
    for cycle in range(CYCLES):
        marker, extra = points[cycle % len(points)]
        proc = await spawn(state, f"boot-{cycle}")
        try:
            await kill_at(proc, marker, extra + rnd.randint(0, 2))
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        top = max((i for i, *_ in seen), default=0)
        seen += collect(state / "outbox.db", top, deliver=cycle % 2 == 1)
    assert {s for _, s, *_ in seen} >= {"telemetry/site", "events/alarm", "state/site"}
    assert_strictly_increasing(seen)


def settings(path: Path) -> OutboxSettings:
    return OutboxSettings(path, Budget(10**9, 10**6), commit_window_s=0.01)


async def test_records_offered_before_open_continue_the_stored_counter(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    for boot in ("a", "b"):
        box = Outbox(settings(path), site="s", boot_id=boot, clock=SimClock())
        box.offer("telemetry/site", {"boot": boot})  # before the file is open
        task = asyncio.create_task(box.run())
        await asyncio.wait_for(box.ready.wait(), 10)
        await box.accept("events/alarm", {"boot": boot})
        await box.flush()
        box.ack([r.id for c in MsgClass for r in await box.read(c, 0, 100)])  # delivered
        await box.flush()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await box.close()
    box = Outbox(settings(path), site="s", boot_id="c", clock=SimClock())
    box.offer("telemetry/site", {"boot": "c"})
    task = asyncio.create_task(box.run())
    try:
        await asyncio.wait_for(box.ready.wait(), 10)
        await box.flush()
        rows = [json.loads(r.body) for r in await box.read(MsgClass.TELEMETRY, 0, 100)]
        assert [r["seq"] for r in rows] == [3]  # 1 and 2 went out under boots a and b
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await box.close()


async def open_box(path: Path, boot: str) -> tuple[Outbox, asyncio.Task[None]]:
    box = Outbox(settings(path), site="s", boot_id=boot, clock=SimClock())
    task = asyncio.create_task(box.run())
    await asyncio.wait_for(box.ready.wait(), 10)
    return box, task


async def stop_box(box: Outbox, task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()


async def test_quarantine_at_open_keeps_the_counters_of_delivered_streams(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    box, task = await open_box(path, "a")
    try:
        for i in range(5):
            await box.accept("events/delivered", {"i": i})
        box.ack([r.id for r in await box.read(MsgClass.EVENT, 0, 100)])  # all delivered
        await box.flush()
        for i in range(300):  # undelivered rows fill the middle of the file
            await box.accept("events/session", {"i": i, "pad": "p" * 500})
    finally:
        await stop_box(box, task)
    data = bytearray(path.read_bytes())
    mid = len(data) // 4096 // 2
    data[mid * 4096 : (mid + 2) * 4096] = b"\xff" * 8192  # two outbox pages, not `streams`
    path.write_bytes(bytes(data))
    box, task = await open_box(path, "b")  # a fresh process: no counters in memory
    try:
        assert "buffer_corrupt" in box.alarms.active
        await box.accept("events/delivered", {"after": True})
        rows = [json.loads(r.body) for r in await box.read(MsgClass.EVENT, 0, 1000)]
        assert [r["seq"] for r in rows if r["stream"] == "events/delivered"] == [6]
    finally:
        await stop_box(box, task)
