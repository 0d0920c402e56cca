"""CAN over slcan on a socat pty pair: the driver's python-can slcan bus on one end, the
simulated cabinet (also python-can slcan, like a USB-CAN adapter) on the other. The pty pair
is then pulled and restored: the link reopens by itself and the values come back."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.drivers.can_bus import CanBus
from edge.drivers.can_device import CanDevice
from edge.drivers.can_link import CanLink
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import shipped_catalog
from edge.sim.can_peer import CabinetCanPeer
from edge.sim.models import CabinetModel
from hil_tests.conftest import socat_pair
from tests.peers import CLOCK, CapturingImage, running

pytestmark = pytest.mark.hil


async def test_cabinet_over_slcan_survives_an_unplugged_adapter(tmp_path: Path) -> None:
    profile = shipped_catalog()["edgehub-can-cabinet"]
    assert isinstance(profile, CanProfile)
    model = CabinetModel(400_000.0, lambda wall: 350_000.0)
    image = CapturingImage()

    def value(point: str) -> float | None:
        reading = image.freeze(CLOCK.monotonic(), CLOCK.wall()).reading("cab", point)
        return reading.value if reading is not None and reading.usable() else None

    driver_end = str(tmp_path / "canA")
    link = CanLink("can0", CanBus("slcan", driver_end, 500_000), CLOCK, reopen_s=0.2)
    device = CanDevice("cab", profile, link, image, CLOCK)
    async with running(link.run, device.run):
        async with socat_pair(tmp_path, "can") as pty:
            peer = CabinetCanPeer(CanBus("slcan", pty.peer, 500_000), profile.dbc, model, CLOCK)
            async with running(peer.run):
                await image.wait_until(lambda: value("power_w") is not None, timeout_s=20)
                await device.write_point("power_setpoint_w", 250_000.0, confirm_timeout_s=5)
                await image.wait_until(lambda: value("power_w") == pytest.approx(250_000.0), 20)
                pty.process.terminate()  # unplugged: both ends lose the pty
                await image.wait_until(lambda: device.health.state == "comm_lost", timeout_s=20)
        # Plugged back in under the same name: the running link reopens by itself.
        async with socat_pair(tmp_path, "can") as pty:
            peer = CabinetCanPeer(CanBus("slcan", pty.peer, 500_000), profile.dbc, model, CLOCK)
            async with running(peer.run):
                await image.wait_until(lambda: device.health.state == "ok", timeout_s=20)
    assert link.stats.reopens >= 1
    assert device.health.failures >= 1
