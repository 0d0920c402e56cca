"""Service on contested days: `allocate` and the baselines against perfect-knowledge bounds.

Days from the tiny truck model in tests/test_power_objective.py (Antwerp-Bruges shape:
30 bays, 15 x 400 kW cabinets of two bays, feeders 2.2 and 2.0 MW, grid 3.5 MW minus a
400-600 kW base load; lunchtime and evening rushes of 45-minute break trucks plus overnight
stays). Bounds, knowing every arrival, departure and battery in advance (scipy HiGHS):

- energy: a linear program over each truck's power per step, under every node of the tree
  and a relaxed acceptance (`p <= 400 kW * ((1 - soc) / 0.3 + 0.1)`, above the model's
  taper everywhere), each truck capped at what it wants;
- break trucks fully served: the same constraints as a mixed-integer program.

Needs the `[sim]` extra (scipy). Prints figures; asserts nothing.

    python -m bench.service_bound [--seeds 1 2 3 4 5] [--mip-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

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


def bounds(seed: int, mip_seconds: float) -> tuple[float, int | None]:
    """(energy bound in MWh, break trucks fully served bound or None if not proven)."""
    trucks = day_trucks(seed)
    site = hub()
    charger_of = {b.id: b.charger for b in site[2]}
    feeder_of = {c.id: c.limit for c in site[1]}
    var: dict[tuple[int, int], int] = {}  # (truck, step) -> column
    for k, now in enumerate(steps()):
        for tr in on_bays(trucks, now).values():
            var[(trucks.index(tr), k)] = len(var)
    rows: list[tuple[dict[int, float], float]] = []  # sum(coef * p) <= rhs
    _tree_rows(trucks, var, charger_of, feeder_of, rows)
    _acceptance_rows(trucks, var, rows)
    n = len(var)
    h = STEP_S / 3600.0
    for i, tr in enumerate(trucks):
        cols = [c for (j, _), c in var.items() if j == i]
        rows.append((dict.fromkeys(cols, h), tr.wanted_wh))
    a, ub = _matrix(rows, n)
    lp = milp(
        -np.ones(n) * h,
        constraints=LinearConstraint(a, -np.inf, ub),
        bounds=Bounds(0, P_MAX_W),
        options={"time_limit": mip_seconds},
    )
    energy = -lp.fun / 1e6 if lp.success else float("nan")
    return energy, _break_count(trucks, var, rows, n, mip_seconds)


def _tree_rows(
    trucks: list[Truck],
    var: dict[tuple[int, int], int],
    charger_of: dict[str, str],
    feeder_of: dict[str, str],
    rows: list[tuple[dict[int, float], float]],
) -> None:
    by_node: dict[tuple[str, int], list[int]] = {}
    for (i, k), col in var.items():
        ch = charger_of[trucks[i].bay]
        for node in (ch, feeder_of[ch], "grid"):
            by_node.setdefault((node, k), []).append(col)
    limits = {"f0": 2200.0, "f1": 2000.0, "grid": 3500.0}
    times = steps()
    for (node, k), cols in by_node.items():
        base = base_kw(times[k])
        cap_kw = 400.0 if node not in limits else limits[node] - base / (1 if node == "grid" else 2)
        rows.append((dict.fromkeys(cols, 1.0), cap_kw * 1000))


def _acceptance_rows(
    trucks: list[Truck], var: dict[tuple[int, int], int], rows: list[tuple[dict[int, float], float]]
) -> None:
    """p_k + (P/0.3/B) * energy before k <= P * ((1 - soc0) / 0.3 + 0.1)."""
    h = STEP_S / 3600.0
    for i, tr in enumerate(trucks):
        ks = sorted(k for (j, k) in var if j == i)
        slope = P_MAX_W / 0.3 / tr.battery_wh * h
        rhs = P_MAX_W * ((1 - tr.soc) / 0.3 + 0.1)
        for idx, k in enumerate(ks):
            coefs = {var[(i, kk)]: slope for kk in ks[:idx]}
            coefs[var[(i, k)]] = 1.0
            rows.append((coefs, rhs))


def _matrix(rows: list[tuple[dict[int, float], float]], n: int) -> tuple[coo_array, np.ndarray]:
    r, c, v = [], [], []
    for k, (coefs, _) in enumerate(rows):
        for col, val in coefs.items():
            r.append(k)
            c.append(col)
            v.append(val)
    return coo_array((v, (r, c)), shape=(len(rows), n)), np.array([rhs for _, rhs in rows])


def _break_count(
    trucks: list[Truck],
    var: dict[tuple[int, int], int],
    rows: list[tuple[dict[int, float], float]],
    n: int,
    seconds: float,
) -> int | None:
    breaks = [i for i, t in enumerate(trucks) if t.kind is SessionKind.BREAK]
    h = STEP_S / 3600.0
    extra = []
    for y, i in enumerate(breaks):  # (wanted - 1 kWh) * y_i - energy_i <= 0
        coefs = {c: -h for (j, _), c in var.items() if j == i}
        coefs[n + y] = trucks[i].wanted_wh - 1_000
        extra.append((coefs, 0.0))
    a, ub = _matrix(rows + extra, n + len(breaks))
    cost = np.concatenate([np.zeros(n), -np.ones(len(breaks))])
    integrality = np.concatenate([np.zeros(n), np.ones(len(breaks))])
    lo = np.zeros(n + len(breaks))
    hi = np.concatenate([np.full(n, P_MAX_W), np.ones(len(breaks))])
    res = milp(
        cost,
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=integrality,
        bounds=Bounds(lo, hi),
        options={"time_limit": seconds},
    )
    if res.x is None:
        return None
    # An upper bound only when proven optimal; otherwise the dual bound, rounded down.
    return int(-res.fun + 0.5) if res.status == 0 else int(-res.mip_dual_bound + 1e-6)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--mip-seconds", type=float, default=60.0)
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for seed in args.seeds:
        t0 = time.perf_counter()
        energy, count = bounds(seed, args.mip_seconds)
        solve_s = time.perf_counter() - t0
        cells = []
        for name, policy in POLICIES.items():
            served, n, mwh = run_day(policy, seed)
            frac = f"{served / count:.0%}" if count else "?"
            cells.append(f"{name} {served}/{n} ({frac}) {mwh:.2f} MWh ({mwh / energy:.1%})")
        print(f"seed {seed}: bound {count} break trucks, {energy:.2f} MWh ({solve_s:.0f} s)")
        print("   " + " | ".join(cells))


if __name__ == "__main__":
    main()
