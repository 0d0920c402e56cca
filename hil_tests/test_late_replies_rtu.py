"""Late replies never become data (RTU over a socat pty pair): RTU has no transaction id,
so only the link's rules stand between a late reply and a wrong reading.

Same scheme as tests/test_late_replies_tcp.py: one value per register, late answers on every
third request of unit 1, and a healthy unit 2 on the same line whose requests are out when
unit 1's late answers arrive. A control run without the link's rules must show a mix-up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.drivers.modbus_device import ModbusDevice
from edge.sim.modbus_server import SimSerialServer
from edge.sim.sim_unit import Fault, SimUnit, StaticModel
from hil_tests.conftest import PtyPair
from tests.peers import CLOCK, CapturingImage, rtu_link, running, write_profile
from tests.test_late_replies_tcp import PROFILE, VALUES

pytestmark = pytest.mark.hil
TIMEOUT_S = 0.2
VALUES_2 = {name: value + 1000 for name, value in VALUES.items()}  # unit 2: 2000, 2100, ...


def wrong(image: CapturingImage) -> list[tuple[str, str, float | None]]:
    expected = {"m1": VALUES, "m2": VALUES_2}
    return [(d, p, r.value) for d, p, r in image.ok() if r.value != expected[d][p]]


async def run_scenario(
    tmp_path: Path, rs485: PtyPair, **link_options: object
) -> tuple[CapturingImage, list[ModbusDevice]]:
    profile = write_profile(tmp_path, PROFILE)
    late = Fault(delay_s=1.6 * TIMEOUT_S, delay_every=3)
    units = [
        SimUnit(1, profile, StaticModel(VALUES), late),
        SimUnit(2, profile, StaticModel(VALUES_2)),
    ]
    server = SimSerialServer(units, CLOCK, rs485.peer)
    await server.start()
    image = CapturingImage()
    link = rtu_link(rs485.driver, TIMEOUT_S, **link_options)  # type: ignore[arg-type]
    devices = [ModbusDevice(f"m{n}", n, profile, link, image, CLOCK) for n in (1, 2)]
    try:
        async with running(link.run, *(d.run for d in devices)):
            await image.wait_until(
                lambda: (
                    bool(wrong(image))
                    or (len(image.ok("m1")) >= 12 and link.unit_health(1).timeouts >= 5)
                ),
                timeout_s=30,
            )
    finally:
        await server.stop()
    return image, devices


async def test_late_replies_never_become_data_over_rtu(tmp_path: Path, rs485: PtyPair) -> None:
    image, devices = await run_scenario(tmp_path, rs485, backoff_s=0.3, max_backoff_s=0.3)
    assert devices[0].link.unit_health(1).timeouts >= 5
    assert len(image.ok("m2")) >= 12, "the healthy unit kept delivering"
    assert wrong(image) == []


async def test_control_without_the_link_rules_rtu_takes_late_replies_as_data(
    tmp_path: Path, rs485: PtyPair
) -> None:
    image, _ = await run_scenario(
        tmp_path, rs485, backoff_s=0.0, late_reply_window_s=0.0, quiet_after_timeout_s=0.0
    )
    assert wrong(image), "the scenario must be able to produce a mix-up"
