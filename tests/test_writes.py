"""Writes against a real Modbus peer: confirmed by read-back where the profile allows it,
refused or unconfirmed writes raise, and startup values (safe outputs, watchdogs) are written
at start and again after the device was lost, never an old command."""

from __future__ import annotations

import pytest

from edge.drivers.catalog import shipped_catalog
from edge.drivers.device_base import WriteFailed
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_profile import Profile
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import CabinetModel
from edge.sim.sim_unit import Fault, SimUnit, StaticModel
from tests.peers import CLOCK, CapturingImage, running, tcp_link


def profile(name: str) -> Profile:
    found = shipped_catalog()[name]
    assert isinstance(found, Profile)
    return found


async def cabinet_session(
    fault: Fault | None = None,
) -> tuple[SimModbusServer, SimUnit, ModbusDevice]:
    cabinet = profile("edgehub-dc-cabinet")
    unit = SimUnit(1, cabinet, CabinetModel(400_000.0, lambda wall: 350_000.0), fault or Fault())
    server = SimModbusServer([unit], CLOCK)
    link = tcp_link(await server.start(), 1.0)
    device = ModbusDevice("cab", 1, cabinet, link, CapturingImage(), CLOCK, startup={})
    return server, unit, device


async def test_setpoint_write_is_confirmed_by_read_back() -> None:
    server, unit, device = await cabinet_session()
    try:
        async with running(device.link.run):
            await device.write_point("power_setpoint_w", 150_000.0)
    finally:
        await server.stop()
    assert ("power_setpoint_w", 150_000.0) in unit.writes
    assert device.health.writes == 1


async def test_a_setpoint_the_device_does_not_take_is_not_confirmed() -> None:
    server, _, device = await cabinet_session()
    try:
        async with running(device.link.run):
            with pytest.raises(
                WriteFailed, match="not confirmed, power_setpoint_w reads back 400000"
            ):
                await device.write_point("power_setpoint_w", 900_000.0)  # above its rating
    finally:
        await server.stop()
    assert device.health.write_failures == 1


async def test_a_refused_write_names_device_value_and_reason() -> None:
    server, _, device = await cabinet_session(Fault(exception=3))
    try:
        async with running(device.link.run):
            with pytest.raises(WriteFailed) as info:
                await device.write_point("power_setpoint_w", 1000.0)
    finally:
        await server.stop()
    message = str(info.value)
    assert message.startswith("device cab: write power_setpoint_w=1000: exception 3")
    assert "(link=lan unit=1)" in message


async def test_read_only_and_unknown_points_are_not_written() -> None:
    server, unit, device = await cabinet_session()
    try:
        async with running(device.link.run):
            with pytest.raises(WriteFailed, match="read-only"):
                await device.write_point("power_w", 1.0)
            with pytest.raises(WriteFailed, match="no such point"):
                await device.write_point("colour", 1.0)
    finally:
        await server.stop()
    assert unit.writes == []


async def test_relay_command_is_confirmed_by_its_read_back_coil() -> None:
    dio = profile("wago-750-352-dio")
    unit = SimUnit(1, dio, StaticModel({}))
    server = SimModbusServer([unit], CLOCK)
    link = tcp_link(await server.start(), 1.0)
    device = ModbusDevice("io", 1, dio, link, CapturingImage(), CLOCK, startup={})
    try:
        async with running(link.run):
            await device.write_point("output_1", 1.0)
            assert unit.image[dio.point("output_1_state").table][0x200] == 1
            await device.write_point("output_1", 0.0)
    finally:
        await server.stop()
    assert unit.writes == [("output_1", 1.0), ("output_1", 0.0)]


async def test_startup_values_are_written_first_and_again_after_a_loss() -> None:
    dio = profile("wago-750-352-dio")
    fault = Fault()
    unit = SimUnit(1, dio, StaticModel({}), fault)
    server = SimModbusServer([unit], CLOCK)
    link = tcp_link(await server.start(), 0.5, backoff_s=0.3, max_backoff_s=0.3)
    image = CapturingImage()
    device = ModbusDevice("io", 1, dio, link, image, CLOCK)
    startup = [("watchdog_fc_mask", 65535.0), ("watchdog_time_s", 5.0)]
    startup += [("output_1", 0.0), ("output_2", 0.0)]
    try:
        async with running(link.run, device.run):
            await image.wait_until(lambda: len(unit.writes) >= 4, timeout_s=10)
            assert unit.writes == startup, "in profile order, before anything else"
            fault.silent = True
            await image.wait_until(lambda: device.health.state == "comm_lost", timeout_s=10)
            fault.silent = False
            await image.wait_until(lambda: len(unit.writes) >= 8, timeout_s=10)
    finally:
        await server.stop()
    assert unit.writes[4:] == startup


async def test_cabinet_falls_back_by_itself_when_setpoints_stop() -> None:
    model = CabinetModel(400_000.0, lambda wall: 350_000.0)
    model.on_write("fallback_power_w", 50_000.0, 0.0)
    model.on_write("watchdog_s", 30.0, 0.0)
    model.on_write("power_setpoint_w", 300_000.0, 100.0)
    assert model.values(120.0)["power_w"] == 300_000.0
    late = model.values(131.0)
    assert late["power_w"] == 50_000.0
    assert late["status"] == 5.0
