"""Late replies never become data (TCP): a device answering after the link's timeout, while
the next request is pending, must not have its answer taken for that request.

Each register holds a value unique to its address, so any mix-up shows as a reading whose
value belongs to another point. The last test is the control: without the link's rules the
same scenario does produce wrong values, so the first ones are able to fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_profile import Profile
from edge.sim.modbus_server import SimModbusServer
from edge.sim.sim_unit import Fault, SimUnit, StaticModel
from tests.peers import CLOCK, CapturingImage, running, tcp_link, write_profile

TIMEOUT_S = 0.15
# Four one-register blocks of the same size and function: a late reply to one fits another.
PROFILE = """
id = "late"
kind = "meter"
max_gap = 0
[defaults]
table = "input"
period_s = 0.02
[points.a]
address = 0
[points.b]
address = 100
[points.c]
address = 200
[points.d]
address = 300
"""
VALUES = {"a": 1000.0, "b": 1100.0, "c": 1200.0, "d": 1300.0}


async def run_scenario(
    profile: Profile, *, realistic_ids: bool, **link_options: object
) -> tuple[CapturingImage, ModbusDevice]:
    # Every third request answers 1.6 timeouts late: after the timeout, while the next
    # request (another block, same size) is already out.
    fault = Fault(delay_s=1.6 * TIMEOUT_S, delay_every=3)
    unit = SimUnit(1, profile, StaticModel(VALUES), fault)
    server = SimModbusServer([unit], CLOCK, realistic_ids=realistic_ids)
    port = await server.start()
    image = CapturingImage()
    link = tcp_link(port, TIMEOUT_S, **link_options)  # type: ignore[arg-type]
    device = ModbusDevice("m", 1, profile, link, image, CLOCK)
    try:
        async with running(link.run, device.run):
            # Until a mix-up, or enough answers and late replies to have given one a chance.
            await image.wait_until(
                lambda: (
                    bool(wrong_readings(image))
                    or (len(image.ok()) >= 12 and link.unit_health(1).timeouts >= 5)
                ),
                timeout_s=30,
            )
    finally:
        await server.stop()
    return image, device


def wrong_readings(image: CapturingImage) -> list[tuple[str, float | None]]:
    return [(point, r.value) for _, point, r in image.ok() if r.value != VALUES[point]]


@pytest.mark.parametrize("realistic_ids", [True, False], ids=["device-ids", "pymodbus-stamping"])
async def test_late_replies_never_become_data_over_tcp(tmp_path: Path, realistic_ids: bool) -> None:
    profile = write_profile(tmp_path, PROFILE)
    image, device = await run_scenario(
        profile, realistic_ids=realistic_ids, backoff_s=0.3, max_backoff_s=0.3
    )
    assert device.link.unit_health(1).timeouts >= 5, "the fault must actually have fired"
    assert wrong_readings(image) == []


async def test_control_without_the_link_rules_late_replies_do_become_data(
    tmp_path: Path,
) -> None:
    profile = write_profile(tmp_path, PROFILE)
    image, _ = await run_scenario(
        profile,
        realistic_ids=False,
        backoff_s=0.0,
        late_reply_window_s=0.0,
        reconnect_after_timeout=False,
    )
    assert wrong_readings(image), "the scenario must be able to produce a mix-up"
