"""The simulated CAN cabinet takes a limit per connector (PowerLimit, PowerLimit2) and
reports connector 2 in Connector2Status: the driver's writes reach both connectors."""

from __future__ import annotations

import uuid

import pytest

from edge.drivers.can_bus import CanBus
from edge.drivers.can_device import CanDevice
from edge.drivers.can_link import CanLink
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import shipped_catalog
from edge.sim.can_peer import CabinetCanPeer
from edge.sim.models import CabinetModel
from tests.peers import CLOCK, CapturingImage, running


def test_the_modbus_cabinet_model_follows_each_connector() -> None:
    model = CabinetModel(400_000.0, lambda wall: 350_000.0, lambda wall: 200_000.0)
    model.on_write("power_setpoint_w", 300_000.0, 0.0)
    model.on_write("connector_2_power_setpoint_w", 150_000.0, 0.0)
    v = model.values(1.0)
    assert (v["power_w"], v["connector_2_power_w"]) == (300_000.0, 100_000.0)  # 400 kW in all
    model.on_write("power_setpoint_w", 100_000.0, 2.0)
    v = model.values(3.0)
    assert (v["power_w"], v["connector_2_power_w"]) == (100_000.0, 150_000.0)
    assert v["connector_2_status"] == 2.0


async def test_a_setpoint_per_connector_over_can() -> None:
    profile = shipped_catalog()["edgehub-can-cabinet"]
    assert isinstance(profile, CanProfile)
    channel = f"test-{uuid.uuid4().hex}"
    model = CabinetModel(400_000.0, lambda wall: 350_000.0, lambda wall: 200_000.0)
    peer = CabinetCanPeer(CanBus("virtual", channel), profile.dbc, model, CLOCK)
    link = CanLink("can0", CanBus("virtual", channel), CLOCK)
    image = CapturingImage()
    device = CanDevice("cab", profile, link, image, CLOCK)

    def value(point: str) -> float | None:
        reading = image.freeze(CLOCK.monotonic(), CLOCK.wall()).reading("cab", point)
        return reading.value if reading is not None and reading.usable() else None

    async with running(peer.run, link.run, device.run):
        await image.wait_until(lambda: value("connector_2_power_w") is not None, timeout_s=10)
        await device.write_point("power_setpoint_w", 120_000.0)
        await device.write_point("connector_2_power_setpoint_w", 90_000.0)
        await image.wait_until(
            lambda: value("connector_2_power_w") == pytest.approx(90_000.0), timeout_s=10
        )
        assert model.setpoint_2_w == pytest.approx(90_000.0)
        assert model.setpoint_w == pytest.approx(120_000.0)
        assert value("connector_2_power_limit_w") == pytest.approx(90_000.0)
        assert value("power_w") == pytest.approx(120_000.0)
