"""What an online controller could reach on the contested days of `bench.service_bound`.

A reference, not a policy the daemon can run: every 2-minute step it solves, for the trucks
on their bays now (and optionally those arriving within `--lookahead` minutes), the
schedule over the next three hours that serves the most break trucks fully and then
delivers the most energy, and applies the first step. It knows each present truck's
battery, state of charge and exact taper (which the daemon does not: a truck reports at
most its energy wanted and departure), its departure and energy wanted, and nothing of
later arrivals. It shows how much of the gap between `allocate` and the perfect-knowledge
bounds is timing an online controller could recover, and how much needs a forecast.

- columns: each known truck's energy per step within the horizon, under the tree (each
  cabinet 400 kW, each feeder and the grid at their limit less the base load) and the
  model's own taper; a truck staying past the horizon also gets a column for its energy
  after it (at half its cabinet, weighed 0.99: the night has room);
- `--no-taper`: the same without the taper (what the daemon knows of a truck today);
- weights: per break truck served, `--per-break` Wh (the count comes first); energy a
  little more the sooner it comes (nothing is known of later arrivals, which may want the
  power then).

Needs the `[sim]` extra (scipy). Prints figures; asserts nothing.

    python -m bench.service_online [--seeds 1 2 3 4 5] [--lookahead 0]
"""

from __future__ import annotations

import argparse
import os
import time

from bench.service_bound import MET_TOLERANCE_WH, P_MAX_W, H, acceptance_rows, tree_rows
from bench.service_bound import program as day_program
from edge import schedule_solve
from edge.power.schedule_program import Program
from edge.sessions import SessionKind
from tests.test_power_objective import STEP_S, Truck, day_trucks, steps

HORIZON_STEPS = 90  # three hours of 2-minute steps: longer than any break, past every rush
EARLIER = 1e-4  # per step: energy now is worth a little more than the same energy later
AFTER_WEIGHT = 0.99  # energy after the horizon (overnight trucks): worth a little less


def run(
    seed: int, lookahead_s: float, per_break_wh: float, seconds: float, taper: bool = True
) -> tuple[int, float]:
    """(break trucks fully served, MWh delivered up to what was wanted). `taper` False: the
    planner knows no taper (each truck up to 400 kW until it has what it wants), as the
    daemon, which learns a truck's energy wanted and departure but not its battery."""
    trucks = day_trucks(seed)
    times = steps()
    for k, now in enumerate(times):
        known = [
            tr
            for tr in trucks
            if tr.arrive <= now + lookahead_s and tr.leave > now and tr.got_wh < tr.wanted_wh
        ]
        if not known:
            continue
        p, weights, first = _step_program(known, k, times, taper)
        x = schedule_solve.best_schedule(p, weights, per_break_wh, seconds)
        if x is None:
            continue  # nothing found in time: the step delivers nothing (counts against it)
        for i, col in first.items():
            tr = known[i]
            draw_w = min(x[col] / H, tr.accepts_w())
            tr.got_wh += draw_w * H
            tr.soc += draw_w * H / tr.battery_wh
    breaks = [t for t in trucks if t.kind is SessionKind.BREAK]
    served = sum(1 for t in breaks if t.got_wh >= t.wanted_wh - MET_TOLERANCE_WH)
    return served, sum(min(t.got_wh, t.wanted_wh) for t in trucks) / 1e6


def run_step_plan(known: list[Truck], now: float, taper: bool = True) -> dict[str, float]:
    """The power (W) the reference plans for each truck of `known` on its bay at `now` (a
    step start)."""
    times = steps()
    k = times.index(now)
    p, weights, first = _step_program(known, k, times, taper)
    x = schedule_solve.best_schedule(p, weights, 3e6, 5.0)
    assert x is not None, "no schedule found"
    return {known[i].bay: float(x[col]) / H for i, col in first.items()}


def _step_program(
    known: list[Truck], k: int, times: list[float], taper: bool = True
) -> tuple[Program, list[float], dict[int, int]]:
    """The program at step `k` over `known`; the weight of each column; each truck's column
    for step `k` (trucks on their bay now)."""
    end = min(len(times), k + HORIZON_STEPS)
    var: dict[tuple[int, int], int] = {}
    for i, tr in enumerate(known):
        for kk in range(k, end):  # on its bay from the first step starting after it arrives
            if tr.arrive <= times[kk] < tr.leave:
                var[(i, kk)] = len(var)
    weights = [1.0 - EARLIER * (kk - k) for (_, kk) in var]
    upper = [P_MAX_W * H] * len(var)
    rows = tree_rows(known, var)
    if taper:
        rows += acceptance_rows(known, var, relax=0.0)
    per_truck: dict[int, list[int]] = {}
    for (i, _), col in var.items():
        per_truck.setdefault(i, []).append(col)
    horizon_end = times[end - 1] + STEP_S
    for i, tr in enumerate(known):
        if tr.leave > horizon_end:
            per_truck.setdefault(i, []).append(len(upper))
            upper.append(P_MAX_W / 2 * (tr.leave - horizon_end) / 3600)
            weights.append(AFTER_WEIGHT)
    rows += [
        (dict.fromkeys(cols, 1.0), known[i].wanted_wh - known[i].got_wh)
        for i, cols in per_truck.items()
    ]
    goals = [
        (cols, known[i].wanted_wh - known[i].got_wh - MET_TOLERANCE_WH)
        for i, cols in per_truck.items()
        if known[i].kind is SessionKind.BREAK
    ]
    first = {i: var[(i, k)] for i in range(len(known)) if (i, k) in var}
    return Program(upper, rows, goals), weights, first


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--lookahead", type=float, default=0.0, help="minutes of arrivals known")
    ap.add_argument("--per-break", type=float, default=3e6, help="Wh a break truck served is worth")
    ap.add_argument("--step-seconds", type=float, default=5.0, help="solver time per step")
    ap.add_argument("--no-taper", action="store_true", help="plan as if no truck tapered")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for seed in args.seeds:
        t0 = time.perf_counter()
        bound = day_program(seed)
        energy = schedule_solve.energy(bound) / 1e6
        count, _ = schedule_solve.breaks_served(bound, 60.0)
        served, mwh = run(
            seed, args.lookahead * 60, args.per_break, args.step_seconds, not args.no_taper
        )
        print(
            f"seed {seed}, arrivals known {args.lookahead:.0f} min ahead,"
            f" taper {'unknown' if args.no_taper else 'known'}: {served} break trucks"
            f" ({served / count:.0%} of the bound's {count}), {mwh:.2f} MWh"
            f" ({mwh / energy:.1%} of {energy:.2f}) in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
