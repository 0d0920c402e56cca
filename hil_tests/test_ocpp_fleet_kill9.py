"""The edge killed with SIGKILL under a running OCPP fleet (1.6J and 2.0.1): the charge
points keep charging on the standing TxDefaultProfile the edge installed at boot, so each
charger's applied limit becomes its `fallback_kw`, not the last dynamic setpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.clock import SystemClock
from edge.sim.ocpp_config import V16, V201
from edge.sim.ocpp_fleet import OcppFleet, cp_configs
from edge.sim.plant import Plant, Weather
from edge.siteconf import load_site
from hil_tests.broker import free_port
from hil_tests.daemon_process import DaemonProcess
from hil_tests.harness import until
from hil_tests.test_ocpp_fleet_daemon import FAST, truck
from tests.ocpp_peers import PASSWORD, write_site

pytestmark = pytest.mark.hil
FALLBACK_W = 100_000.0  # chargers[].fallback_kw in tests/ocpp_peers.py


async def test_sigkill_leaves_the_chargers_on_their_fallback(tmp_path: Path) -> None:
    port = free_port()
    site_path = write_site(
        tmp_path,  # meter values every 1 s: the charge points do as the edge says at boot
        "profile_validity_s = 10\nmeter_values_s = 1\n"
        "[authorization]\noffline_accept_unknown = true\n",
    )
    site_path.write_text(site_path.read_text().replace("port = 1\n", f"port = {port}\n", 1))
    site = load_site(site_path)
    plant = Plant(
        site.limits, site.chargers, site.bays, site.timezone, SystemClock().wall(), Weather(pv_kw=0)
    )
    configs = cp_configs(
        site, {"CP16": V16, "CP201": V201}, {"CP16": PASSWORD, "CP201": PASSWORD}, **FAST
    )
    fleet = OcppFleet(f"ws://127.0.0.1:{port}/ocpp", plant, SystemClock(), configs, step_s=0.05)
    edge = DaemonProcess(site_path, tmp_path, notify=False)
    try:
        edge.wait_cycles(1, timeout_s=30)
        await fleet.start()
        await fleet.wait_online(20)
        conns = [fleet["CP16"].station.connectors[1], fleet["CP201"].station.connectors[1]]
        for bay in ("B1", "B3"):
            plant.arrive(truck(f"T-{bay}"), bay)
        # The dynamic TxProfiles lift both above the fallback while the edge runs.
        await until(lambda: all((c.applied_w or 0) > FALLBACK_W for c in conns), 30, "charging")
        edge.proc.kill()
        edge.proc.wait(timeout=10)
        await until(lambda: fleet.online() == 0, 20, "the charge points see the edge gone")
        await until(
            lambda: all(c.applied_w == pytest.approx(FALLBACK_W) for c in conns),
            30,
            f"both at the fallback: {[c.applied_w for c in conns]}",
        )
        assert all(c.session is not None for c in conns)  # still charging, not stopped
    finally:
        await fleet.stop()
        edge.close()
