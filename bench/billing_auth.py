"""Billing and authorization costs, against baselines measured in the same run.

1. Session tracking per control cycle at 30 and 300 bays (half of them charging, counters
   moving, a sample due every 60 s): `SessionTracker.observe` against power sharing's own
   `track_sessions` over the same statuses (what every cycle already pays).
2. One authorization decision (`before_cloud`) against a local list of 100 000 tokens,
   against a bare dict lookup of the same token.
3. Applying a full list of 10 000 tokens in parts through the `Authorizer` into a real
   local store file (synchronous=FULL), against bare sqlite3 making the same commits (each
   part but the last stored, then the whole list and the parts' delete).

Prints figures and ratios; asserts nothing.

    python -m bench.billing_auth [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from edge.auth import wire
from edge.auth.authorizer import Authorizer
from edge.auth.decide import before_cloud
from edge.auth.model import AuthStatus, ListEntry, LocalList
from edge.billing.tracker import SessionTracker
from edge.chargers.port import BayStatus
from edge.power_inputs import track_sessions
from edge.readings import Grade
from edge.sessions import BayState, Session
from edge.siteconf import load_site
from edge.siteconf.model import Authorization, Bay, SiteConfig
from edge.store.local_store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
NOW = 1_800_000_000.0


def site(bays: int) -> SiteConfig:
    base = load_site(DEMO)
    proto = base.bays[0]
    many = tuple(
        Bay(
            f"B{i:04d}",
            proto.plot,
            proto.charger,
            proto.connector,
            proto.max_power_kw,
            proto.inlet_sides,
            1 + i % 2,
            None,
        )
        for i in range(bays)
    )
    return dataclasses.replace(base, bays=many)


def per_call_us(fn: Callable[[], object], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def frames_of(config: SiteConfig, cycles: int) -> list[tuple[BayStatus, ...]]:
    """Half the bays charging with a counter that moves each cycle, half free."""
    return [
        tuple(
            BayStatus(
                b.id,
                BayState.CHARGING if i % 2 else BayState.AVAILABLE,
                Grade.FRESH,
                300_000.0,
                energy_delivered_wh=100.0 * k,
            )
            for i, b in enumerate(config.bays)
        )
        for k in range(cycles)
    ]


def sessions_bench(bays: int, runs: int, cycles: int = 400) -> None:
    config = site(bays)
    frames = frames_of(config, cycles)
    maps = [{s.bay: s for s in f} for f in frames]
    ours, theirs = [], []
    for r in range(runs):
        counter = itertools.count()
        tracker = SessionTracker(config, lambda c=counter: f"{next(c):032x}")
        t0 = time.perf_counter()
        for k, frame in enumerate(frames):  # one cycle per second: a sample every 60 cycles
            tracker.observe(frame, NOW + r * 1e5 + k)
        ours.append((time.perf_counter() - t0) / cycles * 1e6)
        sessions: dict[str, Session] = {}
        t0 = time.perf_counter()
        for k, statuses in enumerate(maps):
            sessions = track_sessions(config, statuses, sessions, NOW + k, 1.0)
        theirs.append((time.perf_counter() - t0) / cycles * 1e6)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(
        f"sessions {bays:>4} bays: observe {o:8.1f} us/cycle   track_sessions {t:8.1f} us/cycle"
        f"   ratio {o / t:5.2f}"
    )


def decision_bench(runs: int) -> None:
    entries = {f"{i:014X}": ListEntry(f"{i:014X}", AuthStatus.ACCEPTED) for i in range(100_000)}
    local = LocalList(1, MappingProxyType(entries))
    policy = Authorization()
    token = f"{77_777:014x}"  # lower case: normalised on the way
    ours = [
        per_call_us(
            lambda: before_cloud(token, "B01", NOW, local, [], lambda b: None, policy), 20_000
        )
        for _ in range(runs)
    ]
    bare = [per_call_us(lambda: entries.get(token.upper()), 20_000) for _ in range(runs)]
    o, b = statistics.median(ours), statistics.median(bare)
    print(
        f"decision, 100 000 tokens listed: {o:6.2f} us   bare dict lookup {b:6.2f} us"
        f"   ratio {o / b:5.1f}"
    )


async def list_bench(folder: Path, runs: int) -> None:
    entries = [
        {"id_token": f"{i:014X}", "status": "Accepted", "expiry": "2027-06-01T00:00:00Z"}
        for i in range(10_000)
    ]
    for r in range(runs):
        path = folder / f"site-{r}.db"
        store = LocalStore(path)
        await store.open()
        auth = Authorizer(Authorization(), time.time, store=store)
        await auth.load()
        parts = wire.split_full(r + 1, entries)
        t0 = time.perf_counter()
        for p in parts:
            await auth.update(wire.update_from(p))
        ours = time.perf_counter() - t0
        await store.close()
        blob = wire.list_text(auth.local)
        bodies = [json.dumps(p["entries"]) for p in parts[:-1]]
        con = sqlite3.connect(folder / f"bare-{r}.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE parts (part INTEGER PRIMARY KEY, body TEXT)")
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, version INTEGER, body TEXT)")
        t0 = time.perf_counter()  # the same durable writes: each part but the last, the list
        for n, body in enumerate(bodies):
            con.execute("INSERT INTO parts VALUES (?, ?)", (n, body))
        con.execute("INSERT OR REPLACE INTO t VALUES (1, ?, ?)", (r + 1, blob))
        con.execute("DELETE FROM parts")
        bare = time.perf_counter() - t0
        con.close()
        print(
            f"full list 10 000 tokens in {len(parts)} parts: {ours * 1e3:7.1f} ms"
            f" ({ours / len(parts) * 1e3:5.2f} ms/part)   bare sqlite3, same commits"
            f" {bare * 1e3:6.1f} ms   ratio {ours / bare:5.2f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for bays in (30, 300):
        sessions_bench(bays, args.runs)
    decision_bench(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(list_bench(Path(tmp), min(args.runs, 3)))


if __name__ == "__main__":
    main()
