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


Rows = list[tuple[dict[int, float], float]]  # sum(coef * p) <= rhs


def _model(seed: int) -> tuple[list[Truck], dict[tuple[int, int], int], Rows]:
    """The day's trucks, a column per (truck, step) on a bay, and the rows every bound
    shares: the tree, the acceptance, and no truck above what it wants."""
    trucks = day_trucks(seed)
    site = hub()
    charger_of = {b.id: b.charger for b in site[2]}
    feeder_of = {c.id: c.limit for c in site[1]}
    var: dict[tuple[int, int], int] = {}  # (truck, step) -> column
    for k, now in enumerate(steps()):
        for tr in on_bays(trucks, now).values():
            var[(trucks.index(tr), k)] = len(var)
    rows: Rows = []
    _tree_rows(trucks, var, charger_of, feeder_of, rows)
    _acceptance_rows(trucks, var, rows)
    h = STEP_S / 3600.0
    for i, tr in enumerate(trucks):
        cols = [c for (j, _), c in var.items() if j == i]
        rows.append((dict.fromkeys(cols, h), tr.wanted_wh))
    return trucks, var, rows


def bounds(seed: int, mip_seconds: float) -> tuple[float, int | None]:
    """(energy bound in MWh, break trucks fully served bound or None if not proven)."""
    trucks, var, rows = _model(seed)
    n = len(var)
    h = STEP_S / 3600.0
    a, ub = _matrix(rows, n)
    lp = milp(
        -np.ones(n) * h,
        constraints=LinearConstraint(a, -np.inf, ub),
        bounds=Bounds(0, P_MAX_W),
        options={"time_limit": mip_seconds},
    )
    energy = -lp.fun / 1e6 if lp.success else float("nan")
    return energy, _break_count(trucks, var, rows, n, mip_seconds)


def energy_with_served(seed: int, at_least: int, seconds: float) -> float | None:
    """The energy bound (MWh) among schedules that serve at least `at_least` break trucks
    fully: the bound for an objective that puts the count first, as `allocate` does."""
    trucks, var, rows = _model(seed)
    n = len(var)
    h = STEP_S / 3600.0
    a, ub, integrality, hi = _break_program(trucks, var, rows, n, at_least)
    cost = np.concatenate([np.full(n, -h), np.zeros(len(integrality) - n)])
    res = milp(
        cost,
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=integrality,
        bounds=Bounds(np.zeros(len(hi)), hi),
        options={"time_limit": seconds},
    )
    if res.x is None:
        return None
    # Proven optimal, or else the dual bound: an upper bound either way.
    return (-res.fun if res.status == 0 else -res.mip_dual_bound) / 1e6


def _tree_rows(
    trucks: list[Truck],
    var: dict[tuple[int, int], int],
    charger_of: dict[str, str],
    feeder_of: dict[str, str],
    rows: Rows,
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


def _acceptance_rows(trucks: list[Truck], var: dict[tuple[int, int], int], rows: Rows) -> None:
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


def _matrix(rows: Rows, n: int) -> tuple[coo_array, np.ndarray]:
    r, c, v = [], [], []
    for k, (coefs, _) in enumerate(rows):
        for col, val in coefs.items():
            r.append(k)
            c.append(col)
            v.append(val)
    return coo_array((v, (r, c)), shape=(len(rows), n)), np.array([rhs for _, rhs in rows])


def _break_program(
    trucks: list[Truck],
    var: dict[tuple[int, int], int],
    rows: Rows,
    n: int,
    at_least: int | None = None,
) -> tuple[coo_array, np.ndarray, np.ndarray, np.ndarray]:
    """Rows with a 0/1 column per break truck (1: it leaves with what it wanted, to 1 kWh),
    and optionally at least `at_least` of them at 1: (matrix, rhs, integrality, upper)."""
    breaks = [i for i, t in enumerate(trucks) if t.kind is SessionKind.BREAK]
    h = STEP_S / 3600.0
    extra: Rows = []
    for y, i in enumerate(breaks):  # (wanted - 1 kWh) * y_i - energy_i <= 0
        coefs = {c: -h for (j, _), c in var.items() if j == i}
        coefs[n + y] = trucks[i].wanted_wh - 1_000
        extra.append((coefs, 0.0))
    if at_least is not None:
        extra.append(({n + y: -1.0 for y in range(len(breaks))}, -float(at_least)))
    a, ub = _matrix(rows + extra, n + len(breaks))
    integrality = np.concatenate([np.zeros(n), np.ones(len(breaks))])
    hi = np.concatenate([np.full(n, P_MAX_W), np.ones(len(breaks))])
    return a, ub, integrality, hi


def _break_count(
    trucks: list[Truck],
    var: dict[tuple[int, int], int],
    rows: Rows,
    n: int,
    seconds: float,
) -> int | None:
    a, ub, integrality, hi = _break_program(trucks, var, rows, n)
    cost = np.concatenate([np.zeros(n), -np.ones(len(hi) - n)])
    res = milp(
        cost,
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=integrality,
        bounds=Bounds(np.zeros(len(hi)), hi),
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
        results = {name: run_day(policy, seed) for name, policy in POLICIES.items()}
        for name, (served, n, mwh) in results.items():
            frac = f"{served / count:.0%}" if count else "?"
            cells.append(f"{name} {served}/{n} ({frac}) {mwh:.2f} MWh ({mwh / energy:.1%})")
        print(f"seed {seed}: bound {count} break trucks, {energy:.2f} MWh ({solve_s:.0f} s)")
        print("   " + " | ".join(cells))
        served, _, mwh = results["allocate"]
        with_served = energy_with_served(seed, served, args.mip_seconds)
        if with_served:
            print(
                f"   energy bound serving >= {served} break trucks fully: {with_served:.2f} MWh;"
                f" allocate {mwh / with_served:.1%} of it"
            )


if __name__ == "__main__":
    main()
