"""CAN: a DBC-described DC cabinet over python-can's virtual bus, against the CAN peer
simulator: readings, a setpoint confirmed by the cabinet's status, the cabinet's own
fallback when commands stop, silence and garbage frames."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from edge.drivers.can_bus import CanBus
from edge.drivers.can_device import CanDevice
from edge.drivers.can_link import CanLink
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import shipped_catalog
from edge.drivers.device_base import WriteFailed
from edge.readings import Quality
from edge.sim.can_peer import CabinetCanPeer
from edge.sim.models import CabinetModel
from tests.peers import CLOCK, CapturingImage, running


def cabinet_profile() -> CanProfile:
    profile = shipped_catalog()["edgehub-can-cabinet"]
    assert isinstance(profile, CanProfile)
    return profile


@dataclass
class Rig:
    peer: CabinetCanPeer
    device: CanDevice
    link: CanLink
    image: CapturingImage

    def value(self, point: str) -> float | None:
        reading = self.image.freeze(CLOCK.monotonic(), CLOCK.wall()).reading("cab", point)
        return reading.value if reading is not None and reading.usable() else None


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    channel = f"test-{uuid.uuid4().hex}"  # an isolated virtual bus per test
    profile = cabinet_profile()
    model = CabinetModel(400_000.0, lambda wall: 350_000.0)
    model.on_write("fallback_power_w", 50_000.0, 0.0)
    peer = CabinetCanPeer(CanBus("virtual", channel), profile.dbc, model, CLOCK)
    link = CanLink("can0", CanBus("virtual", channel), CLOCK)
    image = CapturingImage()
    device = CanDevice("cab", profile, link, image, CLOCK)
    async with running(peer.run, link.run, device.run):
        yield Rig(peer, device, link, image)


async def test_frames_become_readings_and_the_cabinet_starts_in_fallback(rig: Rig) -> None:
    await rig.image.wait_until(
        lambda: None not in (rig.value("power_w"), rig.value("voltage_v")), timeout_s=10
    )
    assert rig.value("power_w") == pytest.approx(50_000.0)  # no command yet: fallback
    assert rig.value("status") == 5.0
    assert rig.value("voltage_v") == pytest.approx(800.0)
    assert rig.peer.commands == [], "nothing is sent before control sets a value"


async def test_setpoint_is_confirmed_then_fallback_when_commands_stop(rig: Rig) -> None:
    await rig.image.wait_until(lambda: rig.value("power_w") is not None, timeout_s=10)
    await rig.device.write_point("power_setpoint_w", 300_000.0)
    assert rig.value("power_limit_w") == pytest.approx(300_000.0)
    await rig.image.wait_until(lambda: rig.value("power_w") == pytest.approx(300_000.0), 10)
    assert len(set(rig.peer.commands)) == 1
    rig.device.release()
    await rig.image.wait_until(lambda: rig.value("status") == 5.0, timeout_s=10)
    assert rig.value("power_w") == pytest.approx(50_000.0)


async def test_a_limit_the_cabinet_does_not_apply_is_not_confirmed(rig: Rig) -> None:
    await rig.image.wait_until(lambda: rig.value("power_w") is not None, timeout_s=10)
    with pytest.raises(WriteFailed, match="not confirmed by power_limit_w"):
        await rig.device.write_point("power_setpoint_w", 900_000.0, confirm_timeout_s=0.5)


async def test_silence_is_comm_lost_once_and_recovery_logged_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.drivers")
    await rig.image.wait_until(lambda: rig.value("power_w") is not None, timeout_s=10)
    rig.peer.fault.silent = True
    await rig.image.wait_until(lambda: rig.device.health.state == "comm_lost", timeout_s=10)
    snapshot = rig.image.freeze(CLOCK.monotonic(), CLOCK.wall())
    reading = snapshot.reading("cab", "power_w")
    assert reading is not None
    assert reading.failed_at is not None
    assert reading.failed_at > reading.at  # the failure's time and the value's, kept apart
    # Graded by the age of the last good frame: lost once past the image's lost-after time.
    later = rig.image.freeze(reading.at + 61.0, CLOCK.wall())
    assert later.reading("cab", "power_w").quality is Quality.COMM_LOST  # type: ignore[union-attr]
    rig.peer.fault.silent = False
    await rig.image.wait_until(lambda: rig.device.health.state == "ok", timeout_s=10)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("device_lost device=cab" in m for m in messages) == 1
    assert sum("device_recovered device=cab" in m for m in messages) == 1


async def test_garbage_frames_never_crash_the_link(rig: Rig) -> None:
    await rig.image.wait_until(lambda: rig.value("power_w") is not None, timeout_s=10)
    rig.peer.fault.garbage = True
    invalid_before = rig.device.health.invalid_values
    await rig.image.wait_until(
        lambda: rig.device.health.invalid_values >= invalid_before + 3, timeout_s=10
    )
    rig.peer.fault.garbage = False
    frames = rig.link.stats.frames_in
    await rig.image.wait_until(lambda: rig.link.stats.frames_in > frames + 2, timeout_s=10)
    assert rig.link.connected
