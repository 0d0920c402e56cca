"""The plan beside the control loop (`edge/power_planning.py`): when a new plan is made, how
long one is used, what a failing solver does; the site file's keys for it."""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from edge.power.planner import PlanSettings
from edge.power.schedule_program import Program
from edge.power_planning import PlanWorker
from edge.siteconf import load_site
from edge.siteconf.issues import ConfigError
from tests.test_power_planner import NOW, truck
from tests.test_power_site import hub, inputs_for

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"


class CountingSolver:
    """Gives every column its upper bound (a plan, not a good one); counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(
        self, p: Program, weights: Sequence[float], per_served: float, seconds: float
    ) -> Sequence[float] | None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("solver crashed")
        return list(p.upper)


def one_truck(bay: str = "B0000", start: float = NOW) -> Any:
    site = hub(chargers=1, feeders_kw=())
    inp = inputs_for(site, (truck(bay, 100, 2_700),))
    b = inp.bay_inputs[0]
    assert b.session is not None
    s = dataclasses.replace(b.session, start=start)
    return dataclasses.replace(inp, bay_inputs=(dataclasses.replace(b, session=s),))


def test_a_plan_is_made_every_interval_and_at_once_when_a_truck_comes_or_goes() -> None:
    solve = CountingSolver()
    worker = PlanWorker(PlanSettings(), 60.0, solve, inline=True)
    assert worker.power_w(one_truck(), NOW) == {"B0000": pytest.approx(400_000.0)}
    worker.power_w(one_truck(), NOW + 30)
    assert solve.calls == 1  # not due yet
    worker.power_w(one_truck(), NOW + 60)
    assert solve.calls == 2  # due
    worker.power_w(one_truck(start=NOW + 61), NOW + 61)  # another truck on the bay
    assert solve.calls == 3


def test_an_old_plan_is_not_used_and_a_failing_solver_leaves_allocate_alone() -> None:
    solve = CountingSolver()
    worker = PlanWorker(PlanSettings(), 60.0, solve, inline=True)
    assert worker.power_w(one_truck(), NOW) is not None
    solve.fail = True
    assert worker.power_w(one_truck(), NOW + 60) is not None  # the last plan, 60 s old
    assert worker.power_w(one_truck(), NOW + 121) is None  # older than two intervals
    assert worker.failures == 2  # logged, counted; the control loop goes on


async def test_in_the_daemon_the_plan_is_made_in_a_worker_thread() -> None:
    solve = CountingSolver()
    worker = PlanWorker(PlanSettings(), 60.0, solve)
    assert worker.power_w(one_truck(), NOW) is None  # started, not done yet
    for _ in range(200):  # bounded: 2 s
        await asyncio.sleep(0.01)
        got = worker.power_w(one_truck(), NOW + 1)
        if got is not None:
            break
    assert got == {"B0000": pytest.approx(400_000.0)}
    assert solve.calls == 1


def test_the_site_file_sets_the_interval_and_the_taper(tmp_path: Path) -> None:
    text = DEMO.read_text().replace("[control]\n", "[control]\nplan_every_s = 30\n", 1)
    text = text.replace("[sessions]\n", "[sessions]\ntaper_from_pct = 75\n", 1)
    path = tmp_path / "site.toml"
    path.write_text(text)
    if importlib.util.find_spec("scipy") is None:
        with pytest.raises(ConfigError, match=r"control\.plan_every_s.*scipy"):
            load_site(path)
        return
    config = load_site(path)
    assert (config.control.plan_every_s, config.sessions.taper_from_pct) == (30.0, 75.0)
    assert load_site(DEMO).control.plan_every_s == 0.0  # no plan unless asked


def test_a_plan_without_scipy_is_refused_at_load_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DEMO.read_text().replace("[control]\n", "[control]\nplan_every_s = 30\n", 1)
    path = tmp_path / "site.toml"
    path.write_text(text)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"control\.plan_every_s.*scipy"):
        load_site(path)


async def test_the_controller_follows_its_plan_and_the_site_limit_holds() -> None:
    pytest.importorskip("scipy")
    from edge.clock import SimClock
    from edge.control_cycle import ControlCycle, NullSink
    from edge.power_control import PowerController
    from edge.power_planning import default_solver
    from edge.power_report import power_page
    from edge.sdnotify import Notifier
    from tests.test_power_control import Plant, _no_safe_state, at_local, run

    demo = load_site(DEMO)
    clock = SimClock(start_wall=at_local(12))  # by day: break trucks
    plant = Plant(demo, clock)
    worker = PlanWorker(PlanSettings(taper_from_pct=75.0), 60.0, default_solver(), inline=True)
    power = PowerController(demo, plant.port, planner=worker)
    cycle = ControlCycle(
        demo, plant.image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )
    for bay in ("B01", "B02", "B03"):  # each truck tells its needs (ISO 15118)
        plant.arrive(bay)
        sim = plant.bays[bay]
        sim.soc_pct, sim.ev_battery_wh = 30.0, 540_000.0
        sim.ev_energy_wanted_wh, sim.ev_departure = 200_000.0, clock.wall() + 2_700
    imports = await run(cycle, plant, clock, 20)
    assert max(imports) <= demo.root_limit().import_kw * 1000.0  # the plan never passes it
    assert worker.plan is not None
    assert set(worker.plan.power_w) == {"B01", "B02", "B03"}
    row = power_page(demo, None, "normal", power, [], clock.wall())["plan"]
    assert (row["every_s"], row["bays"], row["failures"]) == (60.0, 3, 0)
    assert 0 <= row["age_s"] < 60
