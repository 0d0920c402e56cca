"""A smoke test with the simulator in its own process: the driver's event loop does not also
serve the peer, so a blocking call in the driver would show here as timeouts."""

from __future__ import annotations

import asyncio
import sys

import pytest

from edge.drivers.modbus_device import ModbusDevice
from hil_tests.conftest import stop_process
from tests.peers import CLOCK, CapturingImage, running, tcp_link
from tests.test_writes import profile

pytestmark = pytest.mark.hil


async def test_twenty_meters_served_by_another_process() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.sim_process", "tcp", "--units", "20",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=30)
        port = int(line.decode().split()[1])
        link = tcp_link(port, 1.0)
        image = CapturingImage()
        meter = profile("eastron-sdm630")
        devices = [ModbusDevice(f"m{n}", n, meter, link, image, CLOCK, 0.2) for n in range(1, 21)]
        async with running(link.run, *(d.run for d in devices)):
            await image.wait_until(
                lambda: all(len(image.ok(f"m{n}")) >= 40 for n in range(1, 21)), timeout_s=60
            )
        assert all(d.health.failures == 0 for d in devices)
        powers = {d.id: image.freeze(CLOCK.monotonic(), 0).value(d.id, "power_w") for d in devices}
        assert len(set(powers.values())) == 20, "each meter has its own load"
    finally:
        await stop_process(proc)
