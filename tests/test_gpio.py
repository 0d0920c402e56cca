"""GPIO through gpiozero's MockFactory: inputs follow the pins, outputs start off, writes are
confirmed, and a restart never brings an old output state back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from gpiozero.pins.mock import MockFactory

from edge.drivers.catalog import shipped_catalog
from edge.drivers.device_base import WriteFailed
from edge.drivers.gpio_device import GpioDevice, GpioLink
from edge.drivers.gpio_profile import GpioProfile
from tests.peers import CLOCK, CapturingImage


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


def profile() -> GpioProfile:
    found = shipped_catalog()["pi-gate-io"]
    assert isinstance(found, GpioProfile)
    return found


async def start(
    factory: MockFactory, image: CapturingImage
) -> tuple[GpioDevice, asyncio.Task[None]]:
    device = GpioDevice("gate", profile(), GpioLink("gpio", factory), image, CLOCK)
    task = asyncio.create_task(device.run())
    await image.wait_until(lambda: len(image.history) >= 3, timeout_s=5)
    return device, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def last(image: CapturingImage, point: str) -> float | None:
    values = [r.value for _, p, r in image.history if p == point]
    return values[-1] if values else None


async def test_inputs_follow_their_pins_with_active_low_contacts(factory: MockFactory) -> None:
    image = CapturingImage()
    loop_pin = factory.pin(27)
    device, task = await start(factory, image)
    try:
        assert last(image, "vehicle_present") == 0.0  # pulled up, contact open
        loop_pin.drive_low()  # the loop detector closes its contact to GND
        await image.wait_until(lambda: last(image, "vehicle_present") == 1.0, timeout_s=5)
        loop_pin.drive_high()
        await image.wait_until(lambda: last(image, "vehicle_present") == 0.0, timeout_s=5)
    finally:
        await stop(task)
    assert device.health.state == "ok"


async def test_outputs_start_off_and_writes_are_confirmed(factory: MockFactory) -> None:
    image = CapturingImage()
    relay = factory.pin(17)
    device, task = await start(factory, image)
    try:
        assert relay.state is False
        await device.write_point("barrier_open", 1.0)
        assert relay.state is True
        assert last(image, "barrier_open") == 1.0
        with pytest.raises(WriteFailed, match="is an input"):
            await device.write_point("vehicle_present", 1.0)
    finally:
        await stop(task)


async def test_a_restart_never_replays_the_old_command(factory: MockFactory) -> None:
    relay = factory.pin(17)
    device, task = await start(factory, CapturingImage())
    await device.write_point("barrier_open", 1.0)
    assert relay.state is True
    await stop(task)  # the daemon stops (or crashes and systemd restarts it)
    relay.drive_high()  # whatever level the released pin floats to...
    _, task = await start(factory, CapturingImage())
    try:
        assert relay.state is False  # ...the new driver starts with the barrier closed
    finally:
        await stop(task)
