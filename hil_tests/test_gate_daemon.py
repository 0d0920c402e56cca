"""The whole daemon with a gate lane on the Modbus I/O simulator (a WAGO 750-352 profile on
127.0.0.1, a barrier model behind it) and an RFID reader on a socat pty pair, the cloud
link disabled throughout: a truck is read, admitted and let in; the daemon restarts with the
truck under the boom; it neither closes on it nor replays the open, and closes once clear."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest
import serial

from edge.access.bookings import Period, Phase
from edge.clock import SystemClock
from edge.runtime import Daemon
from edge.sim.modbus_server import SimModbusServer, SimUnit
from edge.siteconf import load_site
from hil_tests.conftest import socat_pair
from tests.polling import wait_until as until
from tests.test_access_entry import booking
from tests.test_gate_lane import Barrier
from tests.test_writes import profile

pytestmark = pytest.mark.hil
CLOCK = SystemClock()

SITE = """
[site]
id = "hil-gate"
name = "Gate hub"
[control]
period_s = 0.2
stale_after_s = 3.0
[[plots]]
id = "p1"
[[limits]]
id = "grid"
import_kw = 1000
[[links]]
id = "io-lan"
type = "modbus-tcp"
host = "127.0.0.1"
port = {port}
timeout_s = 0.5
[[devices]]
id = "io"
kind = "io"
role = "io"
profile = "wago-750-352-dio"
link = "io-lan"
unit = 1
[[chargers]]
id = "c1"
limit = "grid"
max_power_kw = 400
[[bays]]
id = "b1"
plot = "p1"
charger = "c1"
connector = "CCS"
max_power_kw = 400
inlet_sides = ["left"]
[[gates]]
id = "entry-p1"
plot = "p1"
direction = "entry"
barrier_output = "io:output_1"
vehicle_sensor = "io:input_1"
safety_loop = "io:input_2"
photocell = "io:input_3"
position_open = "io:input_7"
position_closed = "io:input_8"
readers = [{{ id = "rfid-1", kind = "rfid", port = "{tty}" }}]
[uplink]
enabled = false
[storage]
state_dir = "{state}"
"""


def lane_state(daemon: Daemon) -> str:
    return daemon.gates.lanes["entry-p1"].state() if daemon.gates else "none"


async def start(path: Path, sock: Path) -> tuple[Daemon, asyncio.Task[int]]:
    daemon = Daemon(load_site(path), socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    await until(lambda: daemon.gates is not None or runner.done(), 30, "gates built")
    assert daemon.gates is not None
    now = CLOCK.wall()  # booked through the daemon's own bookings owner, as a technician would
    slot = replace(booking(), period=Period(now - 60, now + 3600), updated_at=now)
    await daemon.bookings.upsert(slot, by="test")  # the second start: the same version, a no-op
    return daemon, runner


async def stop(daemon: Daemon, runner: asyncio.Task[int]) -> None:
    daemon.request_stop()
    assert await asyncio.wait_for(runner, timeout=20) == 0


async def test_truck_in_restart_under_the_boom(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    barrier = Barrier()
    server = SimModbusServer([SimUnit(1, profile("wago-750-352-dio"), barrier)], CLOCK)
    port = await server.start()
    async with socat_pair(tmp_path, "rfid") as tty:
        path = tmp_path / "site.toml"
        path.write_text(SITE.format(port=port, tty=tty.driver, state=tmp_path / "state"))
        card = serial.Serial(tty.peer, 9600, timeout=1)
        try:
            daemon, runner = await start(path, tmp_path / "edge.sock")
            try:
                await until(lambda: lane_state(daemon) == "idle", 30, "lane idle")
                barrier.present["loop_a"] = True
                await until(lambda: lane_state(daemon) == "armed", 30, "armed")
                await asyncio.to_thread(card.write, b"04AABBCC\r\n")
                await until(lambda: lane_state(daemon) == "open", 30, "open after the read")
                barrier.present["loop_b"] = True  # the truck under the boom, on both loops
                await until(lambda: lane_state(daemon) == "passing", 30, "passing")
                await until(
                    lambda: daemon.bookings.get("bk1").phase is Phase.ADMITTED,  # type: ignore[union-attr]
                    30,
                    "the booking admitted by the gate",
                )
            finally:
                await stop(daemon, runner)  # safe state: the entry lane's output off
            before = len(barrier.writes)
            daemon, runner = await start(path, tmp_path / "edge.sock")
            try:
                await until(lambda: lane_state(daemon) in ("open", "passing"), 30, "rebooted")
                assert daemon.uplink is None  # the cloud link is down for the whole test
                assert all(value == 0.0 for value, _ in barrier.writes[before:])  # no replay
                assert barrier.up  # the drive keeps the boom up over the truck
                barrier.present.update(loop_a=False, loop_b=False)
                await until(lambda: lane_state(daemon) == "idle", 30, "closed once clear")
            finally:
                await stop(daemon, runner)
        finally:
            card.close()
            await server.stop()
    opens = [w for w in barrier.writes if w[0] == 1.0]
    assert opens == [(1.0, True)]  # one open, for the admitted truck on the loop
    closes = [m for m in caplog.messages if "cmd=close" in m]
    assert len(closes) == 1
    assert (
        "audit kind=admission gate=entry-p1 reader=rfid-1 credential=rfid reason=Accepted"
        in caplog.text
    )
