"""Service on contested days: `allocate` and the baselines against perfect-knowledge bounds.

Days from the tiny truck model in tests/test_power_objective.py (Antwerp-Bruges shape:
30 bays, 15 x 400 kW cabinets of two bays, feeders 2.2 and 2.0 MW, grid 3.5 MW minus a
400-600 kW base load; lunchtime and evening rushes of 45-minute break trucks plus overnight
stays). Bounds, knowing every arrival, departure and battery in advance (scipy HiGHS):

- energy: a linear program over each truck's power per step, under every node of the tree
  and a relaxed acceptance (`p <= 400 kW * ((1 - soc) / 0.3 + 0.1)`, above the model's
  taper everywhere), each truck capped at what it wants;
- break trucks fully served: the same constraints as a mixed-integer program;
- energy among the schedules that serve at least as many break trucks fully as `allocate`
  did (the bound for an objective that puts the count first).

The programs are solved by `edge/schedule_solve.py`, as the scenario runs' bounds are
(`edge/sim/bounds.py`); this file only builds them from the model. Needs the `[sim]` extra
(scipy). Prints figures; asserts nothing.

    python -m bench.service_bound [--seeds 1 2 3 4 5] [--mip-seconds 60]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

from edge import schedule_solve
from edge.power.allocation_model import Allocation, AllocationInputs
from edge.power.allocator import allocate
from edge.power.baselines import Policy
from edge.power.planner import PlanSettings
from edge.power.schedule_program import Program, Row
from edge.power_planning import PlanWorker
from edge.sessions import SessionKind
from tests.test_power_objective import (
    POLICIES,
    STEP_S,
    Truck,
    base_kw,
    day_trucks,
    on_bays,
    run_day,
    steps,
)
from tests.test_power_site import hub

P_MAX_W = 400_000.0
H = STEP_S / 3600.0  # a column is a truck's energy (Wh) in one step: its power times H
MET_TOLERANCE_WH = 1_000.0


def program(seed: int) -> Program:
    """The day's program for `edge.schedule_solve`: a column per (truck, step) on a bay;
    rows for the tree, the acceptance and no truck above what it wants; a goal per break
    truck."""
    trucks = day_trucks(seed)
    var: dict[tuple[int, int], int] = {}  # (truck, step) -> column
    for k, now in enumerate(steps()):
        for tr in on_bays(trucks, now).values():
            var[(trucks.index(tr), k)] = len(var)
    rows = tree_rows(trucks, var) + acceptance_rows(trucks, var)
    per_truck: dict[int, list[int]] = {}
    for (i, _), col in var.items():
        per_truck.setdefault(i, []).append(col)
    rows += [
        (dict.fromkeys(per_truck.get(i, []), 1.0), tr.wanted_wh) for i, tr in enumerate(trucks)
    ]
    goals = [
        (per_truck.get(i, []), tr.wanted_wh - MET_TOLERANCE_WH)
        for i, tr in enumerate(trucks)
        if tr.kind is SessionKind.BREAK
    ]
    return Program([P_MAX_W * H] * len(var), rows, goals)


def tree_rows(trucks: list[Truck], var: dict[tuple[int, int], int]) -> list[Row]:
    """Per step, each charger's two bays at most 400 kW, each feeder and the grid at most
    their limit less the base load (half of it on each feeder)."""
    site = hub()
    charger_of = {b.id: b.charger for b in site[2]}
    feeder_of = {c.id: c.limit for c in site[1]}
    by_node: dict[tuple[str, int], list[int]] = {}
    for (i, k), col in var.items():
        ch = charger_of[trucks[i].bay]
        for node in (ch, feeder_of[ch], "grid"):
            by_node.setdefault((node, k), []).append(col)
    limits = {"f0": 2200.0, "f1": 2000.0, "grid": 3500.0}
    times = steps()
    rows: list[Row] = []
    for (node, k), cols in by_node.items():
        base = base_kw(times[k])
        cap_kw = 400.0 if node not in limits else limits[node] - base / (1 if node == "grid" else 2)
        rows.append((dict.fromkeys(cols, 1.0), cap_kw * 1000 * H))
    return rows


def acceptance_rows(
    trucks: list[Truck], var: dict[tuple[int, int], int], relax: float = 0.1
) -> list[Row]:
    """p_k + (P/0.3/B) * energy before k <= P * ((1 - soc0) / 0.3 + relax), times H. With
    `relax` 0 this is the model's taper itself while no truck passes 97 % (none does within
    what it wants): `bench/service_online.py` plans with it."""
    rows: list[Row] = []
    for i, tr in enumerate(trucks):
        ks = sorted(k for (j, k) in var if j == i)
        slope = P_MAX_W / 0.3 / tr.battery_wh * H
        rhs = P_MAX_W * ((1 - tr.soc) / 0.3 + relax) * H
        for idx, k in enumerate(ks):
            coefs = {var[(i, kk)]: slope for kk in ks[:idx]}
            coefs[var[(i, k)]] = 1.0
            rows.append((coefs, rhs))
    return rows


# The model's trucks taper above 70 %, linearly to 10 % at full: the plan's shape.
PLAN = PlanSettings(step_s=STEP_S, taper_from_pct=70.0)


def planned() -> Policy:
    """`allocate` with a plan made at every step (`edge/power/planner.py`), as the day
    runner makes it with `control.plan_every_s`: a policy with its own plan worker."""
    worker = PlanWorker(PLAN, STEP_S, schedule_solve.best_schedule, inline=True)

    def policy(inputs: AllocationInputs, now: float) -> Allocation:
        return allocate(dataclasses.replace(inputs, plan=worker.power_w(inputs, now)), now)

    return policy


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--mip-seconds", type=float, default=60.0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for seed in args.seeds:
        t0 = time.perf_counter()
        p = program(seed)
        energy = schedule_solve.energy(p) / 1e6
        count, proven = schedule_solve.breaks_served(p, args.mip_seconds)
        solve_s = time.perf_counter() - t0
        cells = []
        policies = {**POLICIES, "allocate+plan": planned()}
        results = {name: run_day(policy, seed) for name, policy in policies.items()}
        for name, (served, n, mwh) in results.items():
            frac = f"{served / count:.0%}" if count else "?"
            cells.append(f"{name} {served}/{n} ({frac}) {mwh:.2f} MWh ({mwh / energy:.1%})")
        dual = "" if proven else ", MIP not proven: its dual bound"
        print(f"seed {seed}: bound {count} break trucks{dual}, {energy:.2f} MWh ({solve_s:.0f} s)")
        print("   " + " | ".join(cells))
        served, _, mwh = results["allocate"]
        with_served_wh = schedule_solve.energy_serving(p, served, args.mip_seconds)
        if with_served_wh:
            with_served = with_served_wh / 1e6
            print(
                f"   energy bound serving >= {served} break trucks fully: {with_served:.2f} MWh;"
                f" allocate {mwh / with_served:.1%} of it"
            )


if __name__ == "__main__":
    main()
