"""The whole daemon against simulated devices on an RS-485 line (a socat pty pair, several
units, one dead) and on CAN (slcan over a second pty pair): values reach `edge status`, the
dead unit is flagged without starving the others, and a silent cabinet is flagged and then
recovers, logged once each way."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import pytest

from edge.clock import SystemClock
from edge.drivers.can_bus import CanBus
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_profile import Profile
from edge.runtime import Daemon
from edge.sim.can_peer import CabinetCanPeer
from edge.sim.modbus_server import SimSerialServer
from edge.sim.models import CabinetModel
from edge.sim.sim_unit import SimUnit, StaticModel
from edge.siteconf import load_site
from hil_tests.conftest import socat_pair
from tests.polling import wait_until as until

pytestmark = pytest.mark.hil
CLOCK = SystemClock()

SITE = """
[site]
id = "hil-rtu-can"
name = "RTU and CAN hub"
[control]
period_s = 0.2
stale_after_s = 3.0
[[plots]]
id = "p"
[[limits]]
id = "grid"
import_kw = 1000
fallback_kw = 300
meter = "grid-meter"
[[links]]
id = "rs485"
type = "modbus-rtu"
port = "{rtu}"
baud = 19200
parity = "N"
timeout_s = 0.3
[[links]]
id = "can0"
type = "can"
interface = "slcan"
channel = "{can}"
bitrate = 500000
[[devices]]
id = "grid-meter"
kind = "meter"
role = "grid"
profile = "eastron-sdm630"
link = "rs485"
unit = 1
poll_s = 0.5
[[devices]]
id = "pv-meter"
kind = "meter"
role = "pv"
profile = "eastron-sdm630"
link = "rs485"
unit = 2
poll_s = 0.5
[[devices]]
id = "dead-meter"
kind = "meter"
profile = "eastron-sdm630"
link = "rs485"
unit = 9
poll_s = 0.5
[[devices]]
id = "cabinet"
kind = "charger"
profile = "edgehub-can-cabinet"
link = "can0"
[[chargers]]
id = "ch1"
limit = "grid"
max_power_kw = 400
fallback_kw = 40
device = "cabinet"
"""


def device_state(daemon: Daemon, device: str) -> str:
    rows = daemon.fleet.health(daemon.clock.monotonic())
    return str(next(r["state"] for r in rows if r["device"] == device))


async def test_daemon_over_rtu_and_can(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    catalog = shipped_catalog()
    meter, cabinet = catalog["eastron-sdm630"], catalog["edgehub-can-cabinet"]
    assert isinstance(meter, Profile)
    assert isinstance(cabinet, CanProfile)
    async with socat_pair(tmp_path, "rtu") as rtu, socat_pair(tmp_path, "can") as can:
        units = [
            SimUnit(1, meter, StaticModel({"power_w": 123_000.0, "voltage_l1_v": 231.0})),
            SimUnit(2, meter, StaticModel({"power_w": 45_000.0, "voltage_l1_v": 229.0})),
        ]  # unit 9 is not on the line: it stays silent, as a dead unit does
        server = SimSerialServer(units, CLOCK, rtu.peer, baud=19200)
        await server.start()
        model = CabinetModel(400_000.0, lambda wall: 150_000.0)
        peer = CabinetCanPeer(CanBus("slcan", can.peer, 500_000), cabinet.dbc, model, CLOCK)
        peer_task = asyncio.create_task(peer.run())
        path = tmp_path / "site.toml"
        path.write_text(SITE.format(rtu=rtu.driver, can=can.driver))
        daemon = Daemon(load_site(path), socket_path=tmp_path / "edge.sock")
        runner = asyncio.create_task(daemon.run())
        try:
            await until(lambda: daemon.status()["site"]["import_w"] == 123_000.0)
            status = daemon.status()
            assert status["site"]["mode"] == "normal"
            assert status["site"]["generation_w"] == 45_000.0
            await until(lambda: device_state(daemon, "dead-meter") == "comm_lost")
            await until(lambda: device_state(daemon, "cabinet") == "ok")
            assert device_state(daemon, "pv-meter") == "ok"

            peer.fault.silent = True  # the cabinet stops talking
            await until(lambda: device_state(daemon, "cabinet") == "comm_lost")
            peer.fault.silent = False
            await until(lambda: device_state(daemon, "cabinet") == "ok")
            assert device_state(daemon, "grid-meter") == "ok"
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(runner, timeout=10) == 0
            peer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await peer_task
            await server.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert sum(m.startswith("device_lost device=cabinet") for m in messages) == 1
    assert sum(m.startswith("device_recovered device=cabinet") for m in messages) == 1
    assert sum(m.startswith("device_lost device=dead-meter") for m in messages) == 1
    assert not any(m.startswith("device_lost device=grid-meter") for m in messages)
