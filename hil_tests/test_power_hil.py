"""The whole daemon over the Modbus simulators, power sharing under a fault: the grid meter
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

from bench.reaction import CABINET_UNITS, WriteLog, park_trucks, site_file
from edge.runtime import Daemon
from edge.siteconf import load_site
from tests.polling import wait_until

pytestmark = pytest.mark.hil


def mode(daemon: Daemon) -> str:
    return str(daemon.status()["site"]["mode"])


async def test_grid_meter_silent_at_peak_holds_then_falls_back_then_recovers(
    tmp_path: Path,
) -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    path = site_file(tmp_path)
    path.write_text(
        path.read_text().replace("stale_after_s = 3.0", "stale_after_s = 2.0\nlost_after_s = 5.0")
    )
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
