"""The fleet builds the right link and driver for every link type and profile protocol, hands
a cabinet the site's fallback power, and an absent unit id on a simulated line stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from pymodbus.exceptions import ConnectionException

from edge.clock import SimClock, SystemClock
from edge.drivers.can_device import CanDevice
from edge.drivers.can_link import CanLink
from edge.drivers.fleet import build_fleet
from edge.drivers.gpio_device import GpioDevice, GpioLink
from edge.drivers.modbus_client import DeviceTimeout, ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Table
from edge.drivers.sunspec_device import SunSpecDevice
from edge.process_image import ProcessImage
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import MeterModel
from edge.sim.sim_unit import SimUnit, StaticModel
from edge.siteconf import load_site
from edge.supervisor import Supervisor
from tests.peers import CLOCK, CapturingImage, running, tcp_link
from tests.test_writes import profile

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
EXTRA = """
[[links]]
id = "rs485-1"
type = "modbus-rtu"
port = "/dev/ttyUSB9"
baud = 9600

[[links]]
id = "can0"
type = "can"
interface = "virtual"
channel = "fleet-test"

[[links]]
id = "board"
type = "gpio"

[[devices]]
id = "sub-1"
kind = "meter"
profile = "carlo-gavazzi-em340"
link = "rs485-1"
unit = 4

[[devices]]
id = "cab-1"
kind = "charger"
profile = "edgehub-dc-cabinet"
link = "rs485-1"
unit = 5

[[devices]]
id = "cab-can"
kind = "charger"
profile = "edgehub-can-cabinet"
link = "can0"

[[devices]]
id = "gate"
kind = "io"
profile = "pi-gate-io"
link = "board"
"""


def test_every_link_type_and_protocol_gets_its_driver(tmp_path: Path) -> None:
    # ch01 driven by the RS-485 cabinet instead of its simulated one
    text = DEMO.read_text(encoding="utf-8").replace(
        'device = "cabinet-1"\n', 'device = "cab-1"\n', 1
    )
    path = tmp_path / "site.toml"
    path.write_text(text + EXTRA, encoding="utf-8")
    config = load_site(path)
    endpoints = {"sim-lan": TcpEndpoint("127.0.0.1", 1)}
    fleet = build_fleet(config, ProcessImage(3.0), SystemClock(), endpoints)
    kinds = {d.id: type(d) for d in fleet.devices}
    assert kinds["grid-meter"] is ModbusDevice
    assert kinds["pv-inverter"] is SunSpecDevice
    assert kinds["cab-can"] is CanDevice
    assert kinds["gate"] is GpioDevice
    assert isinstance(fleet.links["rs485-1"], ModbusLink)
    assert isinstance(fleet.links["can0"], CanLink)
    assert isinstance(fleet.links["board"], GpioLink)
    cabinet = fleet.device("cab-1")
    assert isinstance(cabinet, ModbusDevice)
    assert cabinet.startup == {"watchdog_s": 30.0, "fallback_power_w": 50_000.0}
    planned = fleet.planned_utilisation("rs485-1")
    assert planned is not None
    assert 0 < planned < 1
    assert fleet.planned_utilisation("sim-lan") is None  # TCP: no line to fill


async def test_an_absent_unit_stays_silent_like_on_a_real_bus() -> None:
    unit = SimUnit(1, profile("edgehub-dc-cabinet"), StaticModel({}))
    server = SimModbusServer([unit], CLOCK)
    link = tcp_link(await server.start(), 0.2)
    try:
        async with running(link.run):
            assert await link.read(1, Table.HOLDING, 0, 1) == [0]
            with pytest.raises(DeviceTimeout):
                await link.read(9, Table.HOLDING, 0, 1)
    finally:
        await server.stop()
    assert link.unit_health(9).rejected == 0  # no exception reply: silence


async def test_a_link_that_dies_building_a_request_comes_back_and_its_device_polls_again() -> None:
    meter = profile("eastron-sdm630")
    server = SimModbusServer([SimUnit(1, meter, MeterModel(lambda wall: 50_000.0))], CLOCK)
    link = tcp_link(await server.start(), 0.5, backoff_s=0.1, max_backoff_s=0.1)
    image = CapturingImage()
    device = ModbusDevice("m", 1, meter, link, image, CLOCK, poll_s=0.2)
    supervisor = Supervisor(CLOCK, first_backoff_s=0.05)
    try:
        supervisor.start("link", link.run)
        supervisor.start("device", device.run)
        await image.wait_until(lambda: bool(image.ok("m")), timeout_s=10)
        client = link._client._client  # the pymodbus client of the current connection

        def not_connected(*args: object, **kwargs: object) -> None:
            # What pymodbus does when a connection dropped under a request being built.
            raise ConnectionException("Not connected")

        assert client is not None
        client.read_input_registers = not_connected  # type: ignore[method-assign]
        seen = len(image.ok("m"))
        await image.wait_until(lambda: len(image.ok("m")) > seen + 5, timeout_s=10)
    finally:
        await supervisor.stop()
        await server.stop()
    assert device.health.failures >= 1
    assert device.health.state == "ok"
    assert not device.polls_stalled(CLOCK.monotonic())


def test_a_device_whose_polls_stop_ending_shows_it() -> None:
    clock = SimClock()
    link = ModbusLink("lan", ModbusClient(TcpEndpoint("127.0.0.1", 9), 0.5), clock)
    device = ModbusDevice("m", 1, profile("eastron-sdm630"), link, ProcessImage(3.0), clock)
    device.recovered(clock.monotonic())
    clock.advance(5.0)
    assert not device.polls_stalled(clock.monotonic())
    clock.advance(20.0)  # a poll hung: no outcome, good or bad, for 25 s
    assert device.polls_stalled(clock.monotonic())
    assert device.poll_age(clock.monotonic()) == pytest.approx(25.0)
    device.failed("timeout")  # a failed poll still ends: not stalled
    assert not device.polls_stalled(clock.monotonic())


@pytest.mark.parametrize(
    ("fault", "cause"),
    [("lying_count", "undecodable reply: "), ("garbage", "garbled reply: 13 bytes")],
)
async def test_a_bad_reply_is_named_as_such_not_as_silence(
    fault: str, cause: str, caplog: pytest.LogCaptureFixture
) -> None:
    meter = profile("eastron-sdm630")
    unit = SimUnit(1, meter, MeterModel(lambda wall: 50_000.0))
    server = SimModbusServer([unit], CLOCK)
    client = ModbusClient(TcpEndpoint("127.0.0.1", await server.start()), 0.3)
    try:
        assert len(await client.read(Table.INPUT, 0, 2, 1)) == 2
        setattr(unit.fault, fault, True)
        with pytest.raises(DeviceTimeout) as caught:
            await client.read(Table.INPUT, 0, 2, 1)
    finally:
        await client.close()
        await server.stop()
    assert str(caught.value).startswith(cause), caught.value
    assert "no reply within" not in str(caught.value)
    assert not [r for r in caplog.records if "data_received" in r.getMessage()]
