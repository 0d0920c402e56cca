"""Bay availability: the cost of one durable change and of reading the view.

A change (`owner.change`: validate, insert with synchronous=FULL through aiosqlite, recompute
the view, tell listeners) against a bare sqlite3 insert with synchronous=FULL into the same
kind of table in the same run; and `view()` for the Antwerp-Bruges size (30 bays) with 200
changes in force. Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from edge.availability import Change, Kind, Source, Topology, view
from edge.availability_owner import AvailabilityOwner
from edge.clock import SystemClock
from edge.siteconf import load_site
from edge.store import LocalStore
from edge.store.migrations import MIGRATIONS

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"


def raw_inserts(folder: Path, n: int) -> list[float]:
    db = sqlite3.connect(folder / "raw.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(MIGRATIONS[0])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        db.execute(
            "INSERT INTO availability VALUES (NULL,'B01','bay',?,'r',?,NULL,'technician','b')",
            (i % 2, float(i)),
        )
        times.append(time.perf_counter() - t0)
    db.close()
    return times


async def owner_changes(folder: Path, n: int) -> list[float]:
    config = load_site(DEMO)
    config = replace(config, storage=replace(config.storage, state_dir=folder))
    owner = AvailabilityOwner(config, SystemClock(), LocalStore(folder / "site.db"))
    await owner.load()
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        await owner.change(
            "B01",
            available=bool(i % 2),
            reason="bench",
            until=None,
            source=Source.TECHNICIAN,
            by="bench",
        )
        times.append(time.perf_counter() - t0)
    await owner.close()
    return times


def view_time(n_changes: int, reps: int) -> float:
    bays = {f"B{i:02d}": f"ch{i // 2:02d}" for i in range(30)}
    topo = Topology(bays, frozenset(bays.values()))
    changes = [
        Change(f"B{i % 30:02d}", Kind.BAY, bool(i % 3), "r", float(i), 1e12, Source.CLOUD, "c")
        for i in range(n_changes)
    ]
    t0 = time.perf_counter()
    for _ in range(reps):
        view(changes, topo, 1e6)
    return (time.perf_counter() - t0) / reps


def ms(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        raw = raw_inserts(Path(tmp), n)
        owned = asyncio.run(owner_changes(Path(tmp), n))
    print(f"durable change, {n} each: p50 / p99 ms")
    print(f"  bare sqlite3 insert (FULL)  {ms(raw, 50):7.2f} / {ms(raw, 99):7.2f}")
    print(f"  owner.change (aiosqlite)    {ms(owned, 50):7.2f} / {ms(owned, 99):7.2f}")
    print(f"  ratio p50                   {ms(owned, 50) / ms(raw, 50):7.2f}x")
    print(f"view(), 30 bays, 200 changes: {view_time(200, 2000) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
