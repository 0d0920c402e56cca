"""Durable enqueue rate with group commit, against bare sqlite3 on the same disk.

Baseline: bare sqlite3 (WAL, synchronous=FULL, one row of the same size per commit), in
this run, in the same folder. Events: N producer tasks each awaiting `accept` (committed
with synchronous=FULL before it returns); concurrent accepts share one transaction.
Telemetry: `offer` (fire and forget, committed within the window). Prints figures and
ratios; asserts nothing.

    python -m bench.enqueue [SCALE] [--profile] [--dir=DIR]

DIR (default: the system's temp folder) decides the disk measured; both the baseline and
the outbox use it.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PAYLOAD, outbox
from edge.uplink.outbox import Outbox


class RawSqlite:
    """Bare sqlite3: WAL, synchronous=FULL, one row of a record's size per commit."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(folder / "raw.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, body TEXT)")
        self.body = json.dumps(PAYLOAD) + "x" * 200

    def commits(self, n: int) -> float:
        """Seconds for `n` commits."""
        t0 = time.perf_counter()
        for _ in range(n):
            self.db.execute("BEGIN")
            self.db.execute("INSERT INTO t(body) VALUES (?)", (self.body,))
            self.db.execute("COMMIT")
        return time.perf_counter() - t0


async def accepts(box: Outbox, producers: int, n: int) -> float:
    """Seconds for `n` durable accepts spread over `producers` concurrent tasks."""
    each = max(n // producers, 1)

    async def producer(k: int) -> None:
        for i in range(each):
            await box.accept(f"events/p{k % 8}", PAYLOAD | {"i": i})

    t0 = time.perf_counter()
    await asyncio.gather(*(producer(k) for k in range(producers)))
    return (time.perf_counter() - t0) * n / (each * producers)


async def side_by_side(folder: Path, n: int, rounds: int = 5) -> dict[str, float]:
    """Rates, with bare sqlite3 and each producer count interleaved in rounds on one disk,
    so a disk that other work slows down slows all of them alike."""
    raw = RawSqlite(folder / "raw")
    box = outbox(folder / "box")
    task = asyncio.create_task(box.run())
    await box.ready.wait()
    spent = dict.fromkeys(("raw", 1, 10, 100), 0.0)
    chunk = max(n // rounds, 100)
    for _ in range(rounds):
        spent["raw"] += raw.commits(chunk)
        for producers in (1, 10, 100):
            spent[producers] += await accepts(box, producers, chunk)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()
    raw.db.close()
    return {str(k): chunk * rounds / v for k, v in spent.items()}


async def telemetry(folder: Path, n: int) -> float:
    box = outbox(folder, window_s=0.2)
    task = asyncio.create_task(box.run())
    await box.ready.wait()
    t0 = time.perf_counter()
    for i in range(n):
        box.offer("telemetry/site", PAYLOAD | {"i": i})
        if i % 5000 == 4999:
            await asyncio.sleep(0)  # let the writer run, as the control loop would
    while box.counters["accepted"] < n:
        await box.flush()
    dt = time.perf_counter() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()
    return n / dt


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    scale = float(args[0]) if args else 1.0
    n = int(2000 * scale)
    where = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--dir=")), None)
    with tempfile.TemporaryDirectory(prefix="edge-bench-", dir=where) as tmp:
        if "--profile" in sys.argv:
            prof = Path(tmp) / "enqueue.prof"
            cProfile.runctx(
                "asyncio.run(side_by_side(Path(tmp), n))", globals(), locals(), str(prof)
            )
            pstats.Stats(str(prof)).sort_stats("tottime").print_stats(20)
            return
        rates = asyncio.run(side_by_side(Path(tmp), n))
        raw, one = rates["raw"], rates["1"]
        print(f"bare sqlite3 (WAL, FULL, one row per commit)     {raw:9.0f} commits/s")
        for producers in ("1", "10", "100"):
            rate = rates[producers]
            print(
                f"events accept (FULL, group commit) producers={producers:<3} {rate:9.0f} msg/s"
                f"  {rate / raw:5.0%} of bare sqlite3, {rate / one:5.1f}x one producer"
            )
        rate = asyncio.run(telemetry(Path(tmp) / "t", int(100_000 * scale)))
        print(f"telemetry offer (NORMAL, window 0.2 s)           {rate:9.0f} msg/s")


if __name__ == "__main__":
    main()
