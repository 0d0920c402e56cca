"""CAN: a DBC-described DC cabinet over python-can's virtual bus, against the CAN peer
simulator: readings, a setpoint confirmed by the cabinet's status, the cabinet's own
fallback when commands stop, silence and garbage frames.

The peer encodes with the same DBC the driver decodes with, so the golden frames below are
written by hand, byte by byte, from the documented layout (docs/drivers.md, "Reference
cabinet map": Intel byte order, 0.1 kW / 0.1 V / 0.1 A per bit, temperature offset -40 °C)
and never produced by cantools: a wrong start bit, length, order or scale in the DBC fails.
"""

from __future__ import annotations

import asyncio
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


# Documented frame ids (29-bit, extended) and hand-built payloads with the values they carry.
CMD_ID, STATUS_ID, OUTPUT_ID = 0x18EF10F0, 0x18FF10F1, 0x18FF11F1
CONNECTOR2_ID = 0x18FF12F1
GOLDEN_FRAMES: dict[tuple[str, int], tuple[bytes, dict[str, float]]] = {
    # ActualPower 1512 = 0x05E8 -> 151.2 kW (bytes 0-1, LSB first); LimitActive 3000 = 0x0BB8
    # -> 300.0 kW (bytes 2-3); State 2 charging (byte 4, bits 32-35); Temperature raw 75 = 0x4B
    # -> 75 - 40 = 35 degC (byte 5).
    ("CabinetStatus", STATUS_ID): (
        bytes([0xE8, 0x05, 0xB8, 0x0B, 0x02, 0x4B, 0x00, 0x00]),
        {"power_w": 151_200.0, "power_limit_w": 300_000.0, "status": 2.0, "temperature_c": 35.0},
    ),
    # Voltage 8005 = 0x1F45 -> 800.5 V (bytes 0-1); Current 1875 = 0x0753 -> 187.5 A (bytes 2-3).
    ("CabinetOutput", OUTPUT_ID): (
        bytes([0x45, 0x1F, 0x53, 0x07, 0x00, 0x00, 0x00, 0x00]),
        {"voltage_v": 800.5, "current_a": 187.5},
    ),
    # Connector 2: ActualPower2 955 = 0x03BB -> 95.5 kW (bytes 0-1); LimitActive2 1200 =
    # 0x04B0 -> 120.0 kW (bytes 2-3); State2 8 suspended-evse (byte 4, bits 32-35).
    ("Connector2Status", CONNECTOR2_ID): (
        bytes([0xBB, 0x03, 0xB0, 0x04, 0x08, 0x00, 0x00, 0x00]),
        {
            "connector_2_power_w": 95_500.0,
            "connector_2_power_limit_w": 120_000.0,
            "connector_2_status": 8.0,
        },
    ),
}
# CabinetCmd for 300 kW: PowerLimit 3000 = 0x0BB8 (bytes 0-1); byte 2 holds Enable (bit 16)
# and AliveCounter (bits 20-23): enabled with counter 5 is 0x51.
GOLDEN_COMMAND = bytes([0xB8, 0x0B, 0x51, 0x00, 0x00, 0x00, 0x00, 0x00])
# ... and connector 2 at 120 kW: PowerLimit2 1200 = 0x04B0 in bytes 3-4 (bits 24-39).
GOLDEN_COMMAND_2 = bytes([0xB8, 0x0B, 0x51, 0xB0, 0x04, 0x00, 0x00, 0x00])


def test_every_cabinet_point_has_a_golden_frame_value() -> None:
    profile = cabinet_profile()
    golden = {name for _, values in GOLDEN_FRAMES.values() for name in values}
    assert golden == {p.name for p in profile.points if p.polled}


@pytest.mark.parametrize("message", sorted(GOLDEN_FRAMES))
def test_golden_frames_decode_as_the_documented_layout(message: tuple[str, int]) -> None:
    profile = cabinet_profile()
    name, frame_id = message
    info = profile.dbc.messages[name]
    assert (info.frame_id, info.extended, info.length) == (frame_id, True, 8)
    data, expected = GOLDEN_FRAMES[message]
    signals = profile.dbc.decode(frame_id, data)
    for point_name, value in expected.items():
        point = profile.point(point_name)
        assert point.message == name
        assert signals[point.signal] * point.scale + point.offset == pytest.approx(value)


def test_golden_command_frame_encodes_byte_by_byte() -> None:
    profile = cabinet_profile()
    info = profile.dbc.messages["CabinetCmd"]
    assert (info.frame_id, info.extended) == (CMD_ID, True)
    point = profile.point("power_setpoint_w")
    signal = (300_000.0 - point.offset) / point.scale
    # One frame carries every connector's limit; connector 2 unset is sent as 0.
    data = profile.dbc.encode(
        "CabinetCmd", {point.signal: signal, "PowerLimit2": 0, "Enable": 1, "AliveCounter": 5}
    )
    assert data == GOLDEN_COMMAND


def test_golden_command_frame_carries_both_connectors() -> None:
    profile = cabinet_profile()
    one, two = profile.point("power_setpoint_w"), profile.point("connector_2_power_setpoint_w")
    signals = {one.signal: 300_000.0 / one.scale, two.signal: 120_000.0 / two.scale}
    data = profile.dbc.encode("CabinetCmd", {**signals, "Enable": 1, "AliveCounter": 5})
    assert data == GOLDEN_COMMAND_2


@dataclass
class Rig:
    peer: CabinetCanPeer
    device: CanDevice
    link: CanLink
    image: CapturingImage
    channel: str

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
        yield Rig(peer, device, link, image, channel)


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


async def test_the_command_on_the_wire_is_the_golden_frame(rig: Rig) -> None:
    """The driver's own frame, caught by a third node on the bus, matches the hand-built one
    (the alive counter's nibble aside, which moves with every send)."""
    await rig.image.wait_until(lambda: rig.value("power_w") is not None, timeout_s=10)
    listener = CanBus("virtual", rig.channel)
    await listener.open()
    try:
        await rig.device.write_point("power_setpoint_w", 300_000.0)
        for _ in range(200):  # bounded: status frames arrive every 100 ms too
            frame = await asyncio.wait_for(listener.recv(), timeout=5)
            if frame.arbitration_id == CMD_ID:
                break
        else:
            pytest.fail("no CabinetCmd frame on the bus")
    finally:
        await listener.close()
    assert frame.extended
    assert frame.data[:2] == GOLDEN_COMMAND[:2]
    assert frame.data[2] & 0x0F == GOLDEN_COMMAND[2] & 0x0F  # Enable, bits 17-19 clear
    assert frame.data[3:] == GOLDEN_COMMAND[3:]


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
