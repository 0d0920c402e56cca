"""Allocator time at 30, 300 and 3,000 bays, against raw baselines in the same run.

Each size is a hub scaled from Antwerp-Bruges (400 kW cabinets with two bays each, feeders
of 15 cabinets, a grid connection that binds), with a seeded mix of break, booked and
overnight sessions, trucks that accept less than the bay's maximum, and some bays drawing
less than their setpoint. Baselines: the time to build the inputs, and a naive equal share
over the same tree (each node's budget split by the bays under it; a bay takes the smallest
share on its path). Goal: allocate < 1 ms at 30 bays, < 50 ms at 3,000. The tree's shape
and the bays' static data are built once per site (`ConfigMemo`): "cold" is the period
after a config change, when they are built again. Prints figures; asserts nothing.

    python -m bench.allocator [--runs N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

from edge.power import allocation_model, constraint_tree
from edge.power.allocation_model import AllocationInputs, BayInput, ChargerTuning
from edge.power.allocator import allocate
from edge.power.budget import NodeBudget, NodeMode
from edge.power.constraint_tree import build_tree
from edge.sessions import BayState, Estimate, Session, SessionKind, Source
from edge.siteconf.model import Bay, Charger, Connector, InletSide, LimitNode

NOW = 1_767_261_600.0


def hub(bays: int, seed: int) -> AllocationInputs:
    rnd = random.Random(seed)
    chargers = bays // 2
    feeders = max(2, chargers // 15)
    grid_kw = chargers * 400 * 0.58  # Antwerp-Bruges: 3.5 MW for 15 x 400 kW
    limits = [LimitNode("grid", "grid", None, grid_kw, None, grid_kw / 3, "m", None)]
    limits += [
        LimitNode(f"f{i}", f"f{i}", "grid", grid_kw / feeders * 0.7, None, 100, "m", None)
        for i in range(feeders)
    ]
    chs = [Charger(f"c{c}", f"f{c % feeders}", 400, 20, 50, None) for c in range(chargers)]
    site_bays = [
        Bay(f"b{c}-{k}", "p", f"c{c}", Connector.CCS, 400, (InletSide.LEFT,))
        for c in range(chargers)
        for k in range(2)
    ]
    budgets = tuple(
        NodeBudget(
            n.id,
            NodeMode.NORMAL,
            n.import_kw * 1e3,
            f"limit:{n.id}",
            0,
            0,
            n.import_kw * 1e3 * rnd.uniform(0.8, 0.95),
            "",
        )
        for n in limits
    )
    return AllocationInputs(
        tuple(limits),
        tuple(chs),
        tuple(site_bays),
        budgets,
        tuple(_bay(b.id, rnd) for b in site_bays),
        tuple(ChargerTuning(c.id, pause_w=1_000) for c in chs),
    )


def _bay(bay: str, rnd: random.Random) -> BayInput:
    if rnd.random() < 0.15:
        return BayInput(bay, BayState.AVAILABLE, None)
    kind = rnd.choice([SessionKind.BREAK, SessionKind.BOOKED, SessionKind.OVERNIGHT])
    dwell = 2_700.0 if kind is not SessionKind.OVERNIGHT else 36_000.0
    start = NOW - rnd.uniform(0, dwell / 2)
    s = Session(
        bay,
        start,
        kind,
        rnd.uniform(0, 150_000),
        Estimate(rnd.uniform(100e3, 500e3), Source.DEFAULT),
        Estimate(start + dwell, Source.DEFAULT),
    )
    previous = rnd.uniform(0, 400_000)
    measured = previous * (rnd.uniform(0.3, 1.0) if rnd.random() < 0.2 else 1.0)
    return BayInput(bay, BayState.CHARGING, s, measured, rnd.uniform(100e3, 400e3), previous)


def naive_equal_share(inputs: AllocationInputs) -> dict[str, float]:
    tree = build_tree(inputs.limits, inputs.chargers, inputs.bays, inputs.budgets)
    count = dict.fromkeys(tree.capacity_w, 0)
    for path in tree.paths.values():
        for n in path:
            count[n] += 1
    return {b: min(tree.capacity_w[n] / count[n] for n in path) for b, path in tree.paths.items()}


def cold_allocate(inputs: AllocationInputs) -> None:
    """`allocate` right after a config change: nothing of the site's shape kept."""
    for memo in (constraint_tree._shapes, allocation_model._statics):
        memo.clear()
    allocate(inputs, NOW)


def timings(fn: Callable[[], object], runs: int) -> tuple[float, float, float, float]:
    """Wall p50 and p99, CPU p50 and p99, in ms: on a shared machine the CPU time is the
    figure that the other processes disturb least."""
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    wall.sort()
    cpu.sort()
    at99 = min(len(wall) - 1, int(len(wall) * 0.99))
    return statistics.median(wall), wall[at99], statistics.median(cpu), cpu[at99]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"runs: 30 bays {args.runs}, fewer for larger hubs (at least 20)")
    print(
        "bays  allocate wall p50/p99, cpu p50/p99 (ms) | cold cpu p50 | build inputs cpu p50"
        " | naive share cpu p50"
    )
    for bays in (30, 300, 3000):
        runs = int(max(20, args.runs / (bays / 30) ** 0.5))
        inputs = hub(bays, seed=bays)
        a50, a99, ac, ac99 = timings(lambda inputs=inputs: allocate(inputs, NOW), runs)
        cc = timings(lambda inputs=inputs: cold_allocate(inputs), runs)[2]
        bc = timings(lambda bays=bays: hub(bays, seed=bays), runs)[2]
        nc = timings(lambda inputs=inputs: naive_equal_share(inputs), runs)[2]
        print(
            f"{bays:5d}  {a50:8.3f} / {a99:8.3f}, {ac:8.3f} / {ac99:8.3f} | {cc:8.3f} | "
            f"{bc:8.3f} (x{ac / bc:.1f}) | {nc:8.3f} (x{ac / nc:.1f})"
        )


if __name__ == "__main__":
    main()
