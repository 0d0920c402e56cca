"""The power controller shell: inputs gathered from a snapshot (grades -> modes, sessions),
and the control cycle writing through the simulated charger port on a SimClock."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import jsonschema
import pytest

from edge.chargers.port import ApplyResult, BayStatus
from edge.chargers.sim_charger import SimBay, SimCharger
from edge.chargers.site_port import SitePort
from edge.clock import SimClock
from edge.control_cycle import ControlCycle, NullSink, cycle_record
from edge.power.budget import BudgetInputs, LimitOverride, margin_w_of, node_budgets
from edge.power_control import PowerController
from edge.power_inputs import bay_measurements, node_measurements, track_sessions
from edge.process_image import ProcessImage
from edge.readings import Grade, Quality, Reading, Snapshot
from edge.sdnotify import Notifier
from edge.sessions import BayState, BookedStay, Estimate, SessionKind, Source
from edge.siteconf import load_site
from edge.siteconf.model import SiteConfig
from edge.uplink.commands import load_schema
from edge.uplink.telemetry import bay_rows, site_snapshot
from tests.polling import wait_until

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
BASE_W = {"grid-meter": 60_000.0, "plot-meter-main": 40_000.0, "plot-meter-north": 15_000.0}


@pytest.fixture(scope="module")
def demo() -> SiteConfig:
    return load_site(DEMO)


def snapshot(points: dict[str, Reading], now: float = 100.0, wall: float = 1.8e9) -> Snapshot:
    frozen = {d: MappingProxyType({"power_w": r}) for d, r in points.items()}
    return Snapshot(now, wall, MappingProxyType(frozen))


def reading(value: float | None, quality: Quality, at: float = 99.0) -> Reading:
    return Reading(value, "W", quality, at)


def modes(config: SiteConfig, snap: Snapshot, last_base: dict[str, float]) -> dict[str, str]:
    budgets = node_budgets(
        BudgetInputs(
            config.limits,
            config.chargers,
            config.bays,
            node_measurements(config, snap),
            bay_measurements(config, {}),
            tuple(last_base.items()),
            margin_w_of(config.control),
        )
    )
    return {b.node: b.mode.value for b in budgets}


def test_grades_from_the_snapshot_decide_each_nodes_mode(demo: SiteConfig) -> None:
    snap = snapshot(
        {
            "grid-meter": reading(100_000.0, Quality.OK),
            "plot-meter-main": reading(50_000.0, Quality.STALE, at=95.0),
            "plot-meter-north": reading(20_000.0, Quality.COMM_LOST, at=80.0),
        }
    )
    last = {"feeder-main": 40_000.0}
    assert modes(demo, snap, last) == {
        "grid": "normal",
        "feeder-main": "hold",  # stale with a base load known: no increases
        "feeder-north": "fallback",  # lost: its fallback shared per bay
    }
    # Stale but no base load known yet: nothing to hold on to, so fallback, never open.
    assert modes(demo, snap, {})["feeder-main"] == "fallback"


def test_a_meter_value_not_held_is_none_never_zero(demo: SiteConfig) -> None:
    snap = snapshot(
        {
            "grid-meter": reading(None, Quality.INVALID),
            "plot-meter-main": reading(70_000.0, Quality.COMM_LOST, at=10.0),
        }
    )
    got = {m.node: (m.power_w, m.grade) for m in node_measurements(demo, snap)}
    assert got["grid"] == (None, Grade.LOST)
    assert got["feeder-main"] == (70_000.0, Grade.LOST)  # last good value kept, graded lost
    assert got["feeder-north"] == (None, Grade.LOST)  # never read
    assert set(modes(demo, snap, {"grid": 0.0}).values()) == {"fallback"}


def at_local(hour: int) -> float:
    # Europe/Brussels in January is UTC+1.
    return datetime(2026, 1, 15, hour - 1, 0, tzinfo=UTC).timestamp()


def status(bay: str, state: BayState, grade: Grade = Grade.FRESH, **kw: float) -> BayStatus:
    return BayStatus(
        bay, state, grade, kw.get("power_w", 0.0), **{k: v for k, v in kw.items() if k != "power_w"}
    )


def test_sessions_from_the_site_defaults_by_local_arrival_time(demo: SiteConfig) -> None:
    statuses = {
        "B01": status("B01", BayState.CHARGING, power_w=100_000.0),
        "B02": status("B02", BayState.AVAILABLE),
    }
    noon = track_sessions(demo, statuses, {}, at_local(12), 0.0)
    assert set(noon) == {"B01"}
    s = noon["B01"]
    assert s.kind is SessionKind.BREAK
    assert s.departure.value == at_local(12) + 45 * 60
    assert s.departure.source is Source.DEFAULT
    assert s.energy_wanted_wh.value == 300_000.0
    evening = track_sessions(demo, statuses, {}, at_local(20), 0.0)["B01"]
    assert evening.kind is SessionKind.OVERNIGHT
    assert evening.departure.value == at_local(20) + 10 * 3600
    # Energy integrates from fresh power when the charger has no counter (36 s at 100 kW).
    later = track_sessions(demo, statuses, noon, at_local(12) + 36, 36.0)["B01"]
    assert later.energy_delivered_wh == pytest.approx(1000.0)
    assert later.start == s.start
    # A communication gap is not a departure; a bay seen free is.
    gap = {"B01": status("B01", BayState.UNAVAILABLE, Grade.LOST, power_w=0.0)}
    assert track_sessions(demo, gap, {"B01": later}, at_local(13), 1.0)["B01"] == later
    gone = {"B01": status("B01", BayState.AVAILABLE)}
    assert track_sessions(demo, gone, {"B01": later}, at_local(13), 1.0) == {}


# --- the control cycle over the simulated port --------------------------------------------


class Recorder:
    """The site port, keeping every apply call in order with the limit each bay had before."""

    def __init__(self, port: SitePort, bays: Mapping[str, SimBay]) -> None:
        self.port, self.bays = port, bays
        self.calls: list[list[tuple[str, float, float]]] = []

    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        self.calls.append([(b, w, self.bays[b].limit_w) for b, w in setpoints.items()])
        return await self.port.apply(setpoints)

    def states(self, snap: Snapshot) -> tuple[BayStatus, ...]:
        return self.port.states(snap)


class Plant:
    """Four bays on the demo site's two chargers; the meters see base load + charging."""

    def __init__(self, config: SiteConfig, clock: SimClock) -> None:
        self.clock = clock
        self.ch01 = SimCharger("ch01", {"B01": SimBay(), "B02": SimBay()})
        self.ch02 = SimCharger("ch02", {"B03": SimBay(), "B04": SimBay()})
        self.bays = {**self.ch01.bays, **self.ch02.bays}
        self.port = Recorder(SitePort([self.ch01, self.ch02]), self.bays)
        self.image = ProcessImage(config.control.stale_after_s, config.control.lost_after_s)
        self.silent: set[str] = set()

    def charging_w(self) -> float:
        return sum(b.power_w for b in self.bays.values())

    def measure(self) -> None:
        now = self.clock.monotonic()
        for meter, base in BASE_W.items():
            if meter in self.silent:
                continue
            load = base + (self.charging_w() if meter != "plot-meter-north" else 0.0)
            self.image.put(meter, "power_w", Reading(load, "W", Quality.OK, now))

    def arrive(self, bay: str, demand_w: float = 400_000.0) -> None:
        self.bays[bay].state = BayState.CHARGING
        self.bays[bay].demand_w = demand_w


async def _no_safe_state() -> None:
    return None


def make_cycle(
    config: SiteConfig, plant: Plant, clock: SimClock, overrides: tuple[LimitOverride, ...] = ()
) -> ControlCycle:
    power = PowerController(config, plant.port, overrides=lambda: overrides)
    return ControlCycle(
        config, plant.image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )


async def run(cycle: ControlCycle, plant: Plant, clock: SimClock, periods: int) -> list[float]:
    """Step the cycle `periods` times; the grid import seen after each period's writes."""
    imports = []
    for _ in range(periods):
        plant.measure()
        plant.port.calls.append([])  # a period starts
        await cycle.step()
        imports.append(BASE_W["grid-meter"] + plant.charging_w())
        clock.advance(1.0)
    return imports


def periods_of_calls(calls: list[list[tuple[str, float, float]]]) -> list[list[str]]:
    """Per period, its apply calls as 'down' or 'up' ('mixed' for a call with both)."""
    out: list[list[str]] = []
    for call in calls:
        if not call:  # the marker `run` puts before each period
            out.append([])
            continue
        kinds = {"down" if w < before else "up" for _, w, before in call}
        out[-1].append(kinds.pop() if len(kinds) == 1 else "mixed")
    return out


async def test_decreases_are_written_before_increases_and_the_limit_holds(
    demo: SiteConfig,
) -> None:
    # Overnight trucks (they share as equals; break trucks on the site's default would be
    # served by arrival, and B01 would never come down).
    clock = SimClock(start_wall=at_local(20))
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    plant.arrive("B01")
    imports = await run(cycle, plant, clock, 10)
    assert plant.bays["B01"].limit_w == pytest.approx(400_000.0)
    first = len(plant.port.calls)
    plant.arrive("B02")
    plant.arrive("B03")
    imports += await run(cycle, plant, clock, 20)
    limit = demo.root_limit().import_kw * 1000.0
    assert max(imports) <= limit, imports
    # All three share the budget in the end (B01 came down to make room): the grid binds.
    assert plant.bays["B01"].limit_w < 400_000.0
    share = (limit - BASE_W["grid-meter"] - margin_w_of(demo.control)) / 3
    assert min(plant.bays[b].power_w for b in ("B01", "B02", "B03")) > 0.9 * share
    assert plant.bays["B01"].power_w + plant.bays["B02"].power_w <= 400_000.0  # one cabinet
    # Every period: one call with the decreases, then one with the increases; never mixed.
    periods = periods_of_calls(plant.port.calls[first:])
    assert all(p in ([], ["down"], ["up"], ["down", "up"]) for p in periods), periods
    assert ["down", "up"] in periods  # the swap happened within one period
    rows = {b["id"]: b for b in cycle_record(demo, cycle.latest).get("bays", [])}  # type: ignore[arg-type]
    assert rows["B01"]["kind"] == "overnight"
    assert rows["B04"]["binding"] == "bay:B04"


async def test_a_failing_write_is_retried_reported_once_and_never_stops_the_loop(
    demo: SiteConfig, caplog: pytest.LogCaptureFixture
) -> None:
    clock = SimClock()
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    power = cycle._power
    assert power is not None
    plant.ch02.refusing.add("B03")
    plant.arrive("B01")
    plant.arrive("B03")
    with caplog.at_level(logging.WARNING, logger="edge.power_control"):
        await run(cycle, plant, clock, 6)
    assert cycle.completed == 6
    assert cycle.failed == 0
    assert power.write_failures >= 6  # asked again every period
    assert "B03" in power.failing
    assert sum("setpoint_retry bay=B03" in r.getMessage() for r in caplog.records) == 1
    assert plant.bays["B01"].limit_w > 0  # the other bay was served all along
    plant.ch02.refusing.clear()
    await run(cycle, plant, clock, 6)
    assert power.failing == {}
    assert plant.bays["B03"].limit_w > 0  # the retry got through


async def test_a_silent_grid_meter_holds_then_falls_back(demo: SiteConfig) -> None:
    clock = SimClock()
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    plant.arrive("B01")
    plant.arrive("B02")
    await run(cycle, plant, clock, 8)
    assert cycle.latest is not None
    assert cycle.latest.mode == "normal"
    before = plant.charging_w()
    plant.silent.add("grid-meter")
    await run(cycle, plant, clock, 4)  # stale (3 s) but not lost (10 s): hold
    assert cycle.latest.mode == "hold"
    assert plant.charging_w() <= before  # nothing rises in hold
    await run(cycle, plant, clock, 8)  # lost: fallback_kw shared per bay
    assert cycle.latest.mode == "fallback"
    fallback = demo.root_limit().fallback_kw * 1000.0
    assert plant.charging_w() <= fallback
    assert any("grid: fallback" in w for w in cycle.latest.warnings)
    plant.silent.clear()
    await run(cycle, plant, clock, 2)
    assert cycle.latest.mode == "normal"  # recovers by itself when fresh again


async def test_bay_rows_in_telemetry_site_carry_binding_and_keep_the_schema(
    demo: SiteConfig,
) -> None:
    clock = SimClock(start_wall=at_local(20))  # overnight: B01 and B02 share ch01
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    plant.arrive("B01")
    plant.arrive("B02", demand_w=50_000.0)
    plant.bays["B01"].soc_pct = 42.0  # its charger reports the truck's state of charge
    await run(cycle, plant, clock, 12)  # B01 has ramped up to its allocation
    assert cycle.latest is not None
    record = cycle_record(demo, cycle.latest)
    payload = site_snapshot(record, bay_rows(demo, ["B04"], record["bays"]))
    json.dumps(payload, allow_nan=False)  # strict JSON: no infinity in slack or need
    jsonschema.Draft202012Validator(load_schema("site-snapshot.json")).validate(payload)
    rows = {b["id"]: b for b in payload["bays"]}
    assert rows["B01"]["binding"] == "charger:ch01"  # the cabinet is shared with B02
    assert rows["B01"]["setpoint_w"] == plant.bays["B01"].limit_w
    assert rows["B03"]["binding"] == "bay:B03"  # idle
    assert rows["B04"]["available"] is False
    assert (rows["B01"]["soc_pct"], rows["B02"]["soc_pct"]) == (42.0, None)  # B02: not reported


async def test_an_operator_override_lowers_what_the_bays_under_the_node_get(
    demo: SiteConfig,
) -> None:
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock, (LimitOverride("feeder-main", 200_000.0),))
    plant.arrive("B01")
    plant.arrive("B03")
    await run(cycle, plant, clock, 10)
    margin = margin_w_of(demo.control)
    assert plant.charging_w() <= 200_000.0 - BASE_W["plot-meter-main"] - margin + 1.0
    rows = {b["id"]: b for b in cycle_record(demo, cycle.latest).get("bays", [])}  # type: ignore[arg-type]
    assert rows["B01"]["binding"] == "override:feeder-main"


async def test_after_the_safe_state_the_setpoints_are_written_again(
    demo: SiteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    fallback_share = 25_000.0

    async def safe_state() -> None:  # what the safe state does to the chargers
        for bay in plant.bays.values():
            bay.limit_w = fallback_share

    power = PowerController(demo, plant.port)
    cycle = ControlCycle(
        demo, plant.image, clock, Notifier(""), NullSink(), lambda r: "", safe_state, power
    )
    plant.arrive("B01")
    await run(cycle, plant, clock, 10)
    running = plant.bays["B01"].limit_w
    assert running > 100_000.0

    def broken(inputs: object) -> object:
        raise RuntimeError("decision broken on purpose")

    with monkeypatch.context() as m:
        m.setattr("edge.control_cycle.assess_site", broken)
        await run(cycle, plant, clock, 1)
    assert cycle.failed == 1
    assert plant.bays["B01"].limit_w == fallback_share
    await run(cycle, plant, clock, 10)
    assert plant.bays["B01"].limit_w == pytest.approx(running)  # back where it was
    assert plant.bays["B02"].limit_w == 0.0  # and the idle bays down from the fallback


async def test_a_step_in_the_grid_meter_is_answered_between_periods(demo: SiteConfig) -> None:
    """The fast path: three bays at the grid limit; the grid meter's next fresh value shows
    200 kW more base load. The decreases are written at once, before the next period (the
    virtual clock does not move), and what is commanded fits the new budget."""
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    for bay in ("B01", "B02", "B03"):
        plant.arrive(bay)
    await run(cycle, plant, clock, 20)
    limit = demo.root_limit().import_kw * 1000.0
    assert plant.charging_w() > limit - BASE_W["grid-meter"] - 20_000.0  # at the limit
    runner = asyncio.create_task(cycle.run())  # one period now, then sleeps on the clock
    try:
        await wait_until(lambda: cycle.completed == 21, 5, "the period's step")
        before = len(plant.port.calls)
        jump = 200_000.0
        now = clock.monotonic()
        grid = BASE_W["grid-meter"] + jump + plant.charging_w()
        plant.image.put("grid-meter", "power_w", Reading(grid, "W", Quality.OK, now))
        await wait_until(lambda: len(plant.port.calls) > before, 5, "a fast decrease")
        assert cycle.completed == 21  # no period ran: the meter's value did it
        commanded = sum(b.limit_w for b in plant.bays.values())
        assert commanded + BASE_W["grid-meter"] + jump <= limit
        assert all(w < was for call in plant.port.calls[before:] for _, w, was in call)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def test_no_fast_write_while_the_bays_fit_the_budget(demo: SiteConfig) -> None:
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    plant.arrive("B01")
    await run(cycle, plant, clock, 10)
    power = cycle._power
    assert power is not None
    plant.measure()  # a fresh value, nothing changed: no writes between periods
    assert await power.react(plant.image.freeze(clock.monotonic(), clock.wall())) == 0


async def test_a_bay_still_ramping_names_the_ramp_not_the_limit(demo: SiteConfig) -> None:
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    cycle = make_cycle(demo, plant, clock)
    plant.arrive("B01")
    await run(cycle, plant, clock, 3)  # 50 kW/s from the connector's minimum: still rising
    assert cycle.latest is not None
    rows = {b["id"]: b for b in cycle_record(demo, cycle.latest)["bays"]}
    assert rows["B01"]["setpoint_w"] < rows["B01"]["allocated_w"]
    assert rows["B01"]["binding"] == "ramp:ch01"
    await run(cycle, plant, clock, 12)
    assert cycle.latest is not None
    rows = {b["id"]: b for b in cycle_record(demo, cycle.latest)["bays"]}
    assert rows["B01"]["binding"] == "bay:B01"  # at its 400 kW: the bay's maximum binds


async def test_a_booked_truck_on_its_bay_is_shared_as_its_booking_says(demo: SiteConfig) -> None:
    # Site access says B02's truck is booking bk-7's (until 13:30, 120 kWh); B01's truck is
    # unknown: the site's break default.
    clock = SimClock(start_wall=at_local(12))
    plant = Plant(demo, clock)
    stay = BookedStay(
        "bk-7", Estimate(120_000.0, Source.BOOKING), Estimate(at_local(13) + 1800, Source.BOOKING)
    )
    booked: dict[str, BookedStay] = {"B02": stay}
    power = PowerController(demo, plant.port, booked=lambda: booked)
    cycle = ControlCycle(
        demo, plant.image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )
    plant.arrive("B01")
    plant.arrive("B02")
    await run(cycle, plant, clock, 3)
    b01, b02 = power.sessions["B01"], power.sessions["B02"]
    assert (b01.kind, b01.booking, b01.departure.source) == (
        SessionKind.BREAK,
        None,
        Source.DEFAULT,
    )
    assert (b02.kind, b02.booking) == (SessionKind.BOOKED, "bk-7")
    assert (b02.energy_wanted_wh, b02.departure) == (stay.energy_wanted_wh, stay.departure)
    rows = {b["id"]: b for b in cycle_record(demo, cycle.latest).get("bays", [])}  # type: ignore[arg-type]
    assert (rows["B01"]["kind"], rows["B02"]["kind"]) == ("break", "booked")
    # The truck leaves, site access forgets the booking: the next truck is unknown again.
    plant.bays["B02"].state = BayState.AVAILABLE
    booked.clear()
    await run(cycle, plant, clock, 1)
    assert "B02" not in power.sessions
    plant.arrive("B02")
    await run(cycle, plant, clock, 1)
    assert power.sessions["B02"].kind is SessionKind.BREAK
