"""Bookings shell: the owner's steady tick with 1,000 bookings on a six-month calendar, and an
upsert (merge, then the booking row, its event row and the audit entry in one durable
transaction). Prints figures; asserts nothing.

Baselines in the same run: `assignment.plan` alone on the same bookings (the pure floor of a
tick), and one durable INSERT into the local store (the floor of a persisted upsert, which
commits once: its three rows share the transaction).

    python -m bench.bookings [runs]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from bench._common import summary
from edge.access import assignment, occupancy
from edge.access.bookings import Booking, Credentials, Period
from edge.availability_owner import AvailabilityOwner
from edge.bookings_owner import BookingsOwner
from edge.clock import SimClock
from edge.siteconf import load_site
from edge.siteconf.model import Connector, InletSide
from edge.store import LocalStore

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
DAY = 86_400.0


def calendar(now: float, n: int, rng: random.Random) -> list[Booking]:
    out = []
    for i in range(n):
        start = now + 600 + rng.uniform(0, 180 * DAY)
        side = rng.choice(list(InletSide))
        creds = Credentials(tractor_plate=f"PL{i:05d}")
        period = Period(start, start + 3600)
        out.append(Booking(f"bk-{i}", 1, period, Connector.CCS, side, "main", creds))
    return out


async def run(runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        config = load_site(DEMO)
        config = replace(config, storage=replace(config.storage, state_dir=Path(tmp)))
        clock = SimClock()
        availability = AvailabilityOwner(config, clock, LocalStore(Path(tmp) / "site.db"))
        await availability.load()
        owner = BookingsOwner(availability, clock)
        await owner.load()
        rng = random.Random(7)
        for b in calendar(clock.wall(), 1000, rng):
            await owner.upsert(b, by="bench")
        await owner.tick()  # the first tick assigns what is due; later ones change nothing
        ticks, plans, upserts, raws, stays, scans = [], [], [], [], [], []
        states = occupancy.bay_states([b.id for b in config.bays], (), {})
        for i in range(runs):
            t0 = time.perf_counter()
            await owner.tick()
            ticks.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            owner.on_bays()  # what the power controller asks every control period
            stays.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            sum(1 for _ in owner._bookings.values())  # a bare pass, nothing checked
            scans.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            assignment.plan(
                owner.bookings(), config.bays, states, dict(owner._assigned), clock.wall()
            )
            plans.append((time.perf_counter() - t0) * 1e3)
            extra = calendar(clock.wall(), 1, rng)[0]
            t0 = time.perf_counter()
            await owner.upsert(replace(extra, id=f"x-{i}"), by="bench")
            upserts.append((time.perf_counter() - t0) * 1e3)
            t0 = time.perf_counter()
            await availability.store.write(
                "INSERT INTO assignments (booking, reason, at) VALUES (?,?,?)", ("raw", "raw", 0.0)
            )
            raws.append((time.perf_counter() - t0) * 1e3)
        await availability.close()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {runs} runs")
    print(f"tick, 1,000+ bookings (ms):          {summary(ticks)}")
    print(f"  baseline assignment.plan (ms):     {summary(plans)}")
    print(f"on_bays, per control period (ms):   {summary(stays)}")
    print(f"  baseline one pass over them (ms):  {summary(scans)}")
    print(f"upsert, one transaction (ms):       {summary(upserts)}")
    print(f"  baseline one durable INSERT (ms):  {summary(raws)}")
    ratio = sorted(ticks)[len(ticks) // 2] / max(sorted(plans)[len(plans) // 2], 1e-9)
    print(f"tick / plan (median): {ratio:.2f}")
    ratio = sorted(upserts)[len(upserts) // 2] / max(sorted(raws)[len(raws) // 2], 1e-9)
    print(f"upsert / one INSERT (median): {ratio:.2f}")


if __name__ == "__main__":
    asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
