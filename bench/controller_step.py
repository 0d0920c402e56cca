"""The power controller's whole period against the allocator alone, in the same run.

The Antwerp-Bruges site (30 bays, 15 cabinets of 400 kW, two feeders, a 3.5 MW grid
connection) on the simulated charger backend: every bay charging with a seeded demand, the
meters seeing base load + charging. One period of `PowerController.step` gathers the
inputs from the snapshot, budgets, allocates, plans the dispatch, writes (decreases, then
increases) and builds the report rows; the baseline is `allocate` on that period's inputs.
Prints figures and the ratio; asserts nothing.

    python -m bench.controller_step [--periods N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from pathlib import Path

from edge.chargers.sim_charger import SimBay, SimCharger
from edge.chargers.site_port import SitePort
from edge.power.allocator import allocate
from edge.power_control import PowerController
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading
from edge.sessions import BayState
from edge.siteconf import load_site

SITE = Path(__file__).resolve().parents[1] / "config" / "antwerp-bruges.toml"
WALL0 = 1_767_261_600.0 + 11 * 3600  # a weekday lunchtime rush


def p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


async def run(periods: int) -> None:
    config = load_site(SITE)
    rnd = random.Random(1)
    chargers = [
        SimCharger(
            c.id,
            {
                b.id: SimBay(BayState.CHARGING, demand_w=rnd.uniform(150e3, 400e3))
                for b in config.bays
                if b.charger == c.id
            },
        )
        for c in config.chargers
    ]
    bays = {name: bay for ch in chargers for name, bay in ch.bays.items()}
    image = ProcessImage(config.control.stale_after_s, config.control.lost_after_s)
    controller = PowerController(config, SitePort(chargers))
    step_wall, step_cpu, alloc_cpu = [], [], []
    for k in range(periods):
        now = float(k)
        charging = sum(b.power_w for b in bays.values())
        for node in config.limits:
            if node.meter is not None:
                share = charging if node.parent is None else charging / 2
                image.put(node.meter, "power_w", Reading(400e3 + share, "W", Quality.OK, now))
        snap = image.freeze(now, WALL0 + now)
        t0, c0 = time.perf_counter(), time.process_time()
        await controller.step(snap)
        step_wall.append((time.perf_counter() - t0) * 1e3)
        step_cpu.append((time.process_time() - c0) * 1e3)
        statuses = {s.bay: s for s in controller.port.states(snap)}
        assert controller.dispatch is not None
        inputs = controller._decide(snap, statuses, controller.dispatch).inputs
        c0 = time.process_time()
        allocate(inputs, snap.wall)
        alloc_cpu.append((time.process_time() - c0) * 1e3)
        for ch in chargers:
            ch.step(1.0)
    warm = slice(5, None)  # the first periods ramp up from nothing
    s, a, w = step_cpu[warm], alloc_cpu[warm], step_wall[warm]
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {len(config.bays)} bays"
    )
    print(
        f"controller period: wall p50 {p(w, 0.5):.2f} ms p99 {p(w, 0.99):.2f} ms, "
        f"cpu p50 {p(s, 0.5):.2f} ms"
    )
    drawn, running = (
        sum(b.power_w for b in bays.values()),
        sum(b.power_w > 0 for b in bays.values()),
    )
    print(f"drawn at the end:  {drawn / 1e6:.2f} MW by {running} bays")
    print(f"allocate alone:    cpu p50 {p(a, 0.5):.2f} ms")
    print(f"ratio (cpu p50):   {statistics.median(s) / statistics.median(a):.1f}x allocate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=300)
    asyncio.run(run(parser.parse_args().periods))


if __name__ == "__main__":
    main()
