"""The whole daemon over the Modbus simulators. Break before make between two 400 kW bays
at the grid limit. Power sharing under a fault: the grid meter
goes silent at peak (four bays charging at an 800 kW grid limit). Hold first, then fallback:
the grid's fallback_kw shared out over the bays; then fresh again: sharing resumes above it.
Asserted on the setpoints the cabinets received. (That hold raises no bay is asserted where
it can fail: the bays here sit at the budget, so nothing would rise in hold even if hold
were broken; see tests/test_power_control.py and the allocator's hold property.)"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bench.reaction import CABINET_UNITS, DEMO, WriteLog, park_trucks, site_file
from edge.runtime import Daemon
from edge.sessions import SessionKind
from edge.sim.plant import FaultMode
from edge.sim.trucks import TruckSpec
from edge.siteconf import load_site
from hil_tests.overnight import overnight_all_day
from tests.polling import wait_until

pytestmark = pytest.mark.hil


def mode(daemon: Daemon) -> str:
    return str(daemon.status()["site"]["mode"])


async def test_grid_meter_silent_at_peak_holds_then_falls_back_then_recovers(
    tmp_path: Path,
) -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    path = site_file(tmp_path)
    text = path.read_text().replace(
        "stale_after_s = 3.0", "stale_after_s = 2.0\nlost_after_s = 5.0"
    )
    path.write_text(overnight_all_day(text))  # trucks that share, at any hour
    config = load_site(path)
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: daemon.cycle is not None, 15)
        host = daemon.sims
        assert host is not None
        assert host.live is not None
        park_trucks(host.live.plant, time.time())
        server = host.servers["sim-lan"]
        log = WriteLog([server.units[u] for u in CABINET_UNITS])  # type: ignore[misc]
        await wait_until(lambda: len(log.latest) == 4 and log.total() > 500_000, 15)

        server.units[1].fault.silent = True  # the grid meter, at peak
        await wait_until(lambda: mode(daemon) == "hold", 10)
        await wait_until(lambda: mode(daemon) == "fallback", 10)

        fallback_w = 400_000.0  # the demo grid's fallback_kw
        await wait_until(lambda: log.total() <= fallback_w + 1.0, 5)
        floors = dict(log.latest)
        assert all(v > 0.0 for v in floors.values()), f"a bay left at 0 in fallback: {floors}"

        server.units[1].fault.silent = False
        await wait_until(lambda: mode(daemon) == "normal", 15)
        await wait_until(lambda: log.total() > fallback_w + 50_000, 10)
    finally:
        daemon.request_stop()
        exit_code = await asyncio.wait_for(runner, timeout=10)
    assert exit_code == 0


def swap_site(tmp: Path) -> Path:
    """The demo with the grid at 470 kW (one 400 kW truck + 60 kW base + the 2 % margin:
    one bay fills it) and a steady base load (no daytime hump, no solar, no wind)."""
    text = DEMO.read_text()
    text = text.replace("import_kw = 600", "import_kw = 470", 1)  # the grid, not the feeder
    text = text.replace(
        "base_kw = 60, peak_kw = 140, pv_kw = 250, wind_kw = 100",
        "base_kw = 60, peak_kw = 60, pv_kw = 0, wind_kw = 0",
    )
    text = text.replace('state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp / "state"}"')
    path = tmp / "site.toml"
    path.write_text(overnight_all_day(text))  # trucks that share, at any hour
    return path


def truck(name: str, now: float) -> TruckSpec:
    """A break truck that takes all 400 kW and stays all day."""
    return TruckSpec(name, SessionKind.BREAK, "CCS", now, now + 86_400.0, 600e3, 0.1, 500e3, 400e3)


async def test_break_before_make_between_two_400_kw_bays_at_the_grid_limit(
    tmp_path: Path,
) -> None:
    """B01 (cabinet 1) draws 400 kW at the grid limit; a truck arrives on B03 (cabinet 2).
    Cabinet 1 applies setpoints 3 s late, so B01 keeps drawing 400 kW after its decrease is
    written: B03 must not rise before B01's drop is measured (or its ramp_down_s, 10 s, has
    passed). Asserted on the plant the simulators serve: at every B03 setpoint write, B01's
    draw + B03's new setpoint + the base load fit the limit, and the grid import sampled
    every 20 ms never exceeds it. Seen failing with the ledger's in-use reduced to the
    commanded setpoint (no break before make): B01 + B03 + base reached 577 kW."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    config = load_site(swap_site(tmp_path))
    limit_w = 470_000.0
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: daemon.sims is not None and daemon.sims.live is not None, 15)
        assert daemon.sims is not None
        assert daemon.sims.live is not None
        live = daemon.sims.live
        plant = live.plant
        live.traffic.arrivals.clear()  # no demo opening: this test places its trucks
        for bay in list(live.traffic.on_bay):
            plant.depart(bay)
        live.traffic.on_bay.clear()
        server = daemon.sims.servers["sim-lan"]
        log = WriteLog([server.units[u] for u in CABINET_UNITS])  # type: ignore[misc]
        plant.arrive(truck("A", time.time()), "B01")
        a = plant.bays["B01"]
        await wait_until(lambda: a.setpoint_w >= 395_000 and a.draw_w >= 390_000, 30, "B01 full")

        at_raise: list[float] = []  # B01 draw + B03 setpoint + base, at each B03 raise

        def on_write(key: tuple[int, str], value: float) -> None:
            if key == (42, "power_setpoint_w") and value > 0:
                at_raise.append(a.draw_w + value + plant.exogenous_w())

        log.on_record = on_write
        plant.faults["ch01"] = (FaultMode.LAG, 3.0)
        plant.arrive(truck("B", time.time()), "B03")
        b = plant.bays["B03"]
        peak = 0.0
        for _ in range(1500):  # 30 s at most, sampled every 20 ms
            peak = max(peak, plant.grid_w())
            if b.draw_w >= 100_000 and a.draw_w <= 300_000:
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"no swap within 30 s: B01 {a.draw_w:.0f} W, B03 {b.draw_w:.0f} W")
    finally:
        daemon.request_stop()
        exit_code = await asyncio.wait_for(runner, timeout=10)
    assert exit_code == 0
    assert at_raise, "B03 was never raised"
    assert max(at_raise) <= limit_w, f"B03 rose before B01's drop: {max(at_raise):.0f} W"
    assert peak <= limit_w, f"grid import {peak:.0f} W over the {limit_w:.0f} W limit"
