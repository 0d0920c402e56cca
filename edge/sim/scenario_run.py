"""One scenario, whole: the controller's day, the baselines' days on the same arrivals, the
bounds, and the report (`edge sim run`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from edge.power.baselines import (
    Policy,
    earliest_deadline_first,
    equal_shares,
    first_come_first_served,
)
from edge.sim import bounds, report
from edge.sim.day_runner import DayResult, Run
from edge.sim.plant import Plant
from edge.sim.scenario import Scenario

BASELINES: dict[str, Policy] = {
    "fcfs": first_come_first_served,
    "equal": equal_shares,
    "edf": earliest_deadline_first,
}


def run_day(sc: Scenario, pace: Callable[[Run], None] | None = None) -> DayResult:
    """The controller's day; `pace(run)` after each period (real time: it sleeps)."""
    run = sc.runner().begin()
    while run.clock.wall() < run.end - 1e-9:
        run.advance()
        if pace is not None:
            pace(run)
    return run.result()


def realtime() -> Callable[[Run], None]:
    """Sleeps so simulated time since the start keeps up with wall time since this call
    (from the day's first period on: it is waited for too)."""
    t0 = time.monotonic()

    def pace(run: Run) -> None:
        ahead = (run.clock.wall() - run.spec.start) - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)

    return pace


def full_report(
    sc: Scenario,
    result: DayResult,
    *,
    baselines: bool = True,
    with_bounds: bool = True,
    mip_seconds: float = 30.0,
) -> dict[str, Any]:
    others = (
        {name: sc.runner(p, record=False).run() for name, p in BASELINES.items()}
        if baselines
        else {}
    )
    b: dict[str, Any] = {"computed": False, "reason": "not asked (--no-bounds)"}
    if with_bounds:
        plant = Plant(
            sc.site.limits, sc.site.chargers, sc.site.bays, sc.site.timezone, sc.start, sc.weather
        )
        end = sc.start + sc.duration_s
        b = bounds.compute(
            sc.site, plant, sc.trucks, result.trucks, sc.start, end, mip_seconds=mip_seconds
        )
    return report.build(sc, result, others, b)
