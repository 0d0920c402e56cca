"""The controller's service on generated days, as ratios to the baselines and the bounds.

For each seed: `edge sim generate --seed S` (the Antwerp-Bruges hub, 30 bays; the default
day's lunchtime and evening rushes of 45-minute break trucks, scattered breaks and
overnight stays; `--rates` as for `edge sim generate`, by default a fifth of the trucks
booked), then `edge sim run` on it, each in its own process, as a site engineer would.
Prints per seed: break trucks that left with what they wanted (of those that left) and MWh
delivered by departure for `allocate`, FCFS, equal shares, EDF and the perfect-knowledge
bounds (LP energy, MIP break trucks: `edge/sim/bounds.py`), then `allocate`'s ratios to
each; the last lines sum the seeds. Asserts nothing.

    python -m bench.sim_service [--seeds 1 2 3 4 5] [--hours 24] [--mip-seconds 30]
        [--rates booked_share=0.2] [--keep DIR]

`--hours` shortens each day (from 10:00 local: 12 h still holds both rushes); `--keep`
leaves the scenario files and JSON reports in DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "config" / "antwerp-bruges.toml"
POLICIES = ("allocate", "fcfs", "equal", "edf")


def _edge(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "edge", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=3 * 3600,
    )
    if done.returncode != 0:
        raise SystemExit(f"edge {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


def run_seed(seed: int, out: Path, hours: float, mip_s: float, rates: str) -> dict[str, Any]:
    """Generate the seed's day, run it, and return its JSON report."""
    scenario = out / f"generated-{seed}.toml"
    _edge("sim", "generate", "--seed", str(seed), "--site", str(SITE), "--rates", rates,
          "-o", str(scenario))  # fmt: skip
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(re.sub(r"(?m)^duration_h = .*$", f"duration_h = {hours:g}", text))
    report = out / f"generated-{seed}.json"
    _edge("sim", "run", str(scenario), "--report", str(report), "--mip-seconds", f"{mip_s:g}")
    rep: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return rep


def cells(rep: Mapping[str, Any]) -> dict[str, tuple[int, int, float]]:
    """(break trucks served, break trucks that left, MWh by departure) per policy."""
    out = {}
    for name in POLICIES:
        s = rep["service"] if name == "allocate" else rep["baselines"][name]
        out[name] = (s["breaks_served"], s["breaks_left"], s["delivered_by_departure_kwh"] / 1e3)
    return out


def row(seed: int, rep: Mapping[str, Any], wall_s: float) -> str:
    c = cells(rep)
    b = rep["bounds"]
    parts = [f"{n} {c[n][0]}/{c[n][1]} {c[n][2]:.2f}" for n in POLICIES]
    if b.get("computed"):
        proven = "" if b.get("breaks_proven_optimal") else " (MIP not proven: dual bound)"
        parts.append(f"bound {b['breaks_served']}, {b['energy_kwh'] / 1e3:.2f}{proven}")
    ratios = ", ".join(
        f"{name} x{r['breaks']} breaks x{r['energy']} energy" for name, r in rep["ratios"].items()
    )
    trucks = len(rep["trucks"])
    return (
        f"seed {seed} ({trucks} trucks, {wall_s:.0f} s wall, load "
        f"{os.getloadavg()[0]:.1f}): " + " | ".join(parts) + f"\n   allocate / {ratios}"
    )


def totals(reps: list[Mapping[str, Any]]) -> str:
    """Summed over the seeds, `allocate` against each (ratios of the sums)."""
    served = {n: sum(cells(r)[n][0] for r in reps) for n in POLICIES}
    mwh = {n: sum(cells(r)[n][2] for r in reps) for n in POLICIES}
    with_b = [r for r in reps if r["bounds"].get("computed")]
    if len(with_b) == len(reps):
        served["bound"] = sum(r["bounds"]["breaks_served"] for r in reps)
        mwh["bound"] = sum(r["bounds"]["energy_kwh"] / 1e3 for r in reps)
    lines = [
        "all seeds: " + " | ".join(f"{n} {served[n]} breaks, {mwh[n]:.2f} MWh" for n in served)
    ]
    lines.append(
        "   allocate / "
        + ", ".join(
            f"{n} x{served['allocate'] / served[n]:.3f} breaks x{mwh['allocate'] / mwh[n]:.4f}"
            f" energy"
            for n in served
            if n != "allocate" and served[n] and mwh[n]
        )
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--hours", type=float, default=24.0, help="each day's length from 10:00")
    ap.add_argument("--mip-seconds", type=float, default=30.0, help="the MIP bound's time")
    ap.add_argument("--rates", default="booked_share=0.2", help="as `edge sim generate`")
    ap.add_argument("--keep", type=Path, help="leave scenarios and reports in this folder")
    args = ap.parse_args()
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    ).stdout.strip()
    print(f"commit {head or '?'}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(
        f"{args.hours:g} h days from 10:00, rates {args.rates or 'defaults'};"
        " cells: break trucks served/left, MWh by departure"
    )
    reps = []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        for seed in args.seeds:
            t0 = time.perf_counter()
            rep = run_seed(seed, out, args.hours, args.mip_seconds, args.rates)
            print(row(seed, rep, time.perf_counter() - t0), flush=True)
            reps.append(rep)
    print(totals(reps))
    print(f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
