"""How fast the hub simulator runs: simulated seconds per wall second at a 1 s control
period, for the 30-bay Antwerp-Bruges hub and a 300-bay hub (the same hub ten times over,
from 11:30 local: ten copies of each feeder under a grid connection ten times larger).

Each size runs twice in the same process: the raw baseline (a policy that allocates
nothing: the plant, budget, dispatch, gate and bookkeeping alone) and the controller
(`allocate`), both with the gate's admission and the outbox records, so the ratio is the
controller's own cost. The arrivals scale with the bays.

    python -m bench.sim_speed [--hours 24] [--big-hours 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from bench.day_runner import DAY, nothing
from edge.power.allocator import allocate
from edge.power.baselines import Policy
from edge.sim.day_runner import DayRunner
from edge.sim.plant import Weather
from edge.sim.scenario_gen import with_access
from edge.sim.trucks import DayShape, day_arrivals, local_midnight
from edge.siteconf.loader import load_site
from edge.siteconf.model import SiteConfig


def scaled(site: SiteConfig, n: int) -> SiteConfig:
    """`n` copies of every feeder, charger and bay under one grid connection n times larger."""
    if n == 1:
        return site
    root = next(x for x in site.limits if x.parent is None)
    limits = [
        dataclasses.replace(root, import_kw=root.import_kw * n, fallback_kw=root.fallback_kw * n)
    ]
    chargers, bays = [], []
    for k in range(n):
        for node in site.limits:
            if node.parent is not None:
                limits.append(dataclasses.replace(node, id=f"{node.id}-{k}"))
        for c in site.chargers:
            chargers.append(dataclasses.replace(c, id=f"{c.id}-{k}", limit=f"{c.limit}-{k}"))
        for b in site.bays:
            bays.append(dataclasses.replace(b, id=f"{b.id}-{k}", charger=f"{b.charger}-{k}"))
    return dataclasses.replace(
        site, limits=tuple(limits), chargers=tuple(chargers), bays=tuple(bays)
    )


def one(site: SiteConfig, n: int, hours: float, policy: Policy) -> tuple[float, float, float]:
    """(simulated s, wall s, CPU s) of one run."""
    base = DayShape()
    shape = DayShape(
        *(
            (lo, hi, k * n)
            for lo, hi, k in (base.lunch, base.evening, base.scattered, base.overnight)
        )
    )
    trucks = with_access(day_arrivals(1, DAY, site.timezone, shape), 1, 0.2, 0.5)
    start = local_midnight(DAY, site.timezone) + (10.0 if n == 1 else 11.5) * 3600.0
    runner = DayRunner(
        site,
        trucks,
        start,
        hours * 3600.0,
        1.0,
        policy,
        Weather(pv_kw=800.0 * n),
        seed=1,
        knowledge="site",
        gate=True,
        uplink=True,
    )
    cpu0, t0 = time.process_time(), time.perf_counter()
    r = runner.run()
    return r.sim_s, time.perf_counter() - t0, time.process_time() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=24.0, help="the 30-bay run")
    ap.add_argument("--big-hours", type=float, default=2.0, help="the 300-bay run (11:30 on)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    site = load_site("config/antwerp-bruges.toml")
    for n, hours in ((1, args.hours), (10, args.big_hours)):
        big = scaled(site, n)
        for name, policy in (("nothing (raw)", nothing), ("allocate", allocate)):
            sim, wall, cpu = one(big, n, hours, policy)
            print(
                f"{len(big.bays):4d} bays {hours:g} h {name:14s} wall {wall:7.1f} s  "
                f"{sim / wall:7.0f} sim s/wall s  CPU {cpu / sim * 1e3:.3f} ms/period"
            )
        print(f"  load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
