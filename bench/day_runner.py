"""The day runner: how fast a day of the 30-bay Antwerp-Bruges hub runs, and how well
`allocate` serves trucks against the baselines on the same seeded contested days.

Speed: one day (10:00 to 10:00 local, 1 s control period) with `allocate`, against the same
day with a policy that allocates nothing (the plant, budget, dispatch and bookkeeping
alone) measured in the same run; simulated seconds per wall second and CPU per period.

Service: on each seed, the same trucks and weather (no wind, 800 kWp solar) for `allocate`,
first-come-first-served, equal shares and earliest-deadline-first; energy delivered by
departure (up to what each truck wanted) and break trucks that left with what they wanted.
A coarser `--service-period` makes the 20 days affordable on a shared machine (the
controller then acts less often: a lower figure for every policy alike). `--bounds` adds
the perfect-knowledge bounds of `edge.sim.bounds` (the `[sim]` extra) on this plant, for
the trucks `allocate` gave a bay, and prints each policy's ratio to them.

    python -m bench.day_runner [--seeds 1 2 3 4 5] [--service-period 1] [--skip-speed] [--bounds]
"""

from __future__ import annotations

import argparse
import os
import time

from edge.power.allocation_model import Allocation, AllocationInputs, Setpoint
from edge.power.allocator import allocate
from edge.power.baselines import (
    Policy,
    earliest_deadline_first,
    equal_shares,
    first_come_first_served,
)
from edge.sim.bounds import compute
from edge.sim.day_runner import DayResult, DayRunner
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import day_arrivals, local_midnight
from edge.siteconf.loader import load_site

DAY = 1_781_258_400.0  # 2026-06-12, a Friday in June
POLICIES: dict[str, Policy] = {
    "allocate": allocate,
    "fcfs": first_come_first_served,
    "equal": equal_shares,
    "edf": earliest_deadline_first,
}


def nothing(inputs: AllocationInputs, now: float) -> Allocation:
    """The raw baseline: every bay at 0 W (the run's cost without an allocator)."""
    return Allocation(now, tuple(Setpoint(b.id, 0.0, "off") for b in inputs.bays), (), ())


SITE = "config/antwerp-bruges.toml"


def day(policy: Policy, seed: int, period_s: float) -> tuple[DayResult, float]:
    """One 24 h day from 10:00 local; (result, CPU seconds)."""
    site = load_site(SITE)
    start = local_midnight(DAY, site.timezone) + 10 * 3600.0
    trucks = day_arrivals(seed, DAY, site.timezone)
    runner = DayRunner(
        site, trucks, start, 86_400.0, period_s, policy, Weather(pv_kw=800.0), seed=seed
    )
    cpu0 = time.process_time()
    result = runner.run()
    return result, time.process_time() - cpu0


def speed() -> None:
    print("speed: one 24 h day, 30 bays, 1 s period")
    for name, policy in (("nothing (raw)", nothing), ("allocate", allocate)):
        r, cpu = day(policy, 1, 1.0)
        periods = r.sim_s
        print(
            f"  {name:14s} wall {r.wall_s:6.1f} s  {r.sim_s / r.wall_s:7.0f} sim s/wall s  "
            f"CPU {cpu / periods * 1e3:.3f} ms/period"
        )


def bound(r: DayResult, seed: int) -> tuple[float, int]:
    """(MWh, break trucks fully served) with perfect knowledge, for `r`'s trucks on bays."""
    site = load_site(SITE)
    start = local_midnight(DAY, site.timezone) + 10 * 3600.0
    weather = Weather(pv_kw=800.0)
    plant = Plant(site.limits, site.chargers, site.bays, site.timezone, start, weather)
    trucks = day_arrivals(seed, DAY, site.timezone)
    b = compute(site, plant, trucks, r.trucks, start, start + 86_400.0, mip_seconds=60.0)
    return b["energy_kwh"] / 1e3, b["breaks_served"]


def service(seeds: list[int], period_s: float, with_bounds: bool) -> None:
    print(
        f"service: 24 h days, {period_s:g} s period; break trucks served / left, MWh by departure"
    )
    for seed in seeds:
        cells = []
        best: tuple[float, int] | None = None
        for name, policy in POLICIES.items():
            r, _ = day(policy, seed, period_s)
            if with_bounds and best is None:
                best = bound(r, seed)
                cells.append(f"bound {best[1]} breaks, {best[0]:.2f} MWh")
            served, left = r.breaks_served()
            refused = sum(1 for t in r.trucks if t.bay is None)
            mwh = r.delivered_by_departure_wh() / 1e6
            ratio = (
                f" ({served / max(1, best[1]):.0%}, {mwh / best[0]:.1%} of bound)" if best else ""
            )
            cells.append(
                f"{name} {served}/{left} ({served / max(1, left):.0%}) {mwh:.2f} MWh{ratio}"
            )
        above = f"peak {r.peak_import_w / 1e3:.0f} kW, {r.seconds_above_limit:.0f} s above"
        print(f"  seed {seed} ({refused} refused, edf {above}): " + " | ".join(cells))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--service-period", type=float, default=1.0)
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-service", action="store_true")
    ap.add_argument("--bounds", action="store_true", help="LP/MIP bounds (needs scipy)")
    args = ap.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    if not args.skip_speed:
        speed()
    if not args.skip_service:
        service(args.seeds, args.service_period, args.bounds)


if __name__ == "__main__":
    main()
