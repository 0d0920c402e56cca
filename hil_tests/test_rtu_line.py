"""Several units on one RS-485 line (a socat pty pair), one of them dead: the healthy units
keep their poll period, because the dead unit costs the line at most one timeout between
two polls of any healthy unit (its backoff keeps it off the line in between)."""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import pytest

from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import Served
from edge.sim.modbus_server import SimSerialServer
from edge.sim.sim_unit import Fault, SimUnit, StaticModel
from hil_tests.conftest import PtyPair
from tests.peers import CLOCK, CapturingImage, rtu_link, running, write_profile

pytestmark = pytest.mark.hil
TIMEOUT_S = 0.5
PERIOD_S = 0.1
PROFILE = """
id = "line"
kind = "meter"
[defaults]
table = "holding"
[points.power_w]
address = 0
type = "int32"
period_s = 0.1
[points.energy_wh]
address = 40
type = "uint32"
period_s = 0.5
"""
HEALTHY, DEAD = (1, 2, 3), 7


async def test_one_dead_unit_costs_the_others_at_most_one_timeout_per_poll(
    tmp_path: Path, rs485: PtyPair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.drivers")
    profile = write_profile(tmp_path, PROFILE)
    units = [SimUnit(n, profile, StaticModel({"power_w": n, "energy_wh": n})) for n in HEALTHY]
    units.append(SimUnit(DEAD, profile, StaticModel({}), Fault(silent=True)))
    server = SimSerialServer(units, CLOCK, rs485.peer, baud=19200)
    await server.start()
    link = rtu_link(rs485.driver, TIMEOUT_S, baud=19200, backoff_s=0.5, max_backoff_s=1.0)
    served: list[Served] = []
    link.observers.append(served.append)
    image = CapturingImage()
    devices = [ModbusDevice(f"m{n}", n, profile, link, image, CLOCK) for n in (*HEALTHY, DEAD)]
    try:
        async with running(link.run, *(d.run for d in devices)):
            await image.wait_until(
                lambda: (
                    link.unit_health(DEAD).timeouts >= 3
                    and all(len(image.ok(f"m{n}")) >= 20 for n in HEALTHY)
                ),
                timeout_s=60,
            )
    finally:
        await server.stop()

    dead_on_line = [s for s in served if s.unit == DEAD and s.outcome != "backoff"]
    assert len(dead_on_line) >= 3
    assert all(s.outcome == "timeout" for s in dead_on_line)
    for n in HEALTHY:
        polls = [s for s in served if s.unit == n and s.address == 0]
        assert all(s.outcome == "ok" for s in polls)
        assert devices[n - 1].health.failures == 0
        for before, after in itertools.pairwise(polls):
            between = [s for s in dead_on_line if before.ended <= s.started < after.started]
            assert len(between) <= 1, "a dead unit may cost a healthy one one timeout at most"
        gaps = [b.started - a.started for a, b in itertools.pairwise(polls)]
        logging.getLogger(__name__).info(
            "jitter unit=%d period_s=%.2f max_interval_s=%.3f", n, PERIOD_S, max(gaps)
        )
    lost = [r.getMessage() for r in caplog.records if "device_lost" in r.getMessage()]
    assert len(lost) == 1, "one warning, for the dead unit"
    assert f"device=m{DEAD}" in lost[0]


@pytest.mark.parametrize("fault", ["bad_crc", "garbage"])
async def test_corrupt_replies_on_the_line_are_comm_lost_and_recover(
    tmp_path: Path, rs485: PtyPair, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.drivers")
    profile = write_profile(tmp_path, PROFILE)
    broken = Fault()
    units = [
        SimUnit(1, profile, StaticModel({"power_w": 1, "energy_wh": 1}), broken),
        SimUnit(2, profile, StaticModel({"power_w": 2, "energy_wh": 2})),
    ]
    server = SimSerialServer(units, CLOCK, rs485.peer, baud=19200)
    await server.start()
    link = rtu_link(rs485.driver, TIMEOUT_S, baud=19200, backoff_s=0.3, max_backoff_s=0.6)
    image = CapturingImage()
    devices = [ModbusDevice(f"m{n}", n, profile, link, image, CLOCK) for n in (1, 2)]
    try:
        async with running(link.run, *(d.run for d in devices)):
            await image.wait_until(lambda: len(image.ok("m1")) >= 2, timeout_s=20)
            setattr(broken, fault, True)
            await image.wait_until(lambda: devices[0].health.state == "comm_lost", 20)
            healthy_before = len(image.ok("m2"))
            await image.wait_until(lambda: len(image.ok("m2")) >= healthy_before + 10, 20)
            setattr(broken, fault, False)
            await image.wait_until(lambda: devices[0].health.state == "ok", timeout_s=20)
    finally:
        await server.stop()
    assert all(r.value in (1.0, 2.0) and r.value == int(d[1]) for d, _, r in image.ok())
    assert devices[1].health.failures == 0
    messages = [r.getMessage() for r in caplog.records]
    assert sum("device_lost device=m1 " in m for m in messages) == 1
    assert sum("device_recovered device=m1 " in m for m in messages) == 1
