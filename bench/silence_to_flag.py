"""How long from a device going silent to its values being flagged comm_lost, and from it
answering again to its values being ok. Loopback TCP, simulator in this process (it only
has to stop answering), the real driver loop (link, device task, process image).

    python -m bench.silence_to_flag [--trials 20] [--poll 1.0] [--timeout 0.5]

Expected: the flag comes within one poll period plus one timeout; the recovery within the
unit's backoff (2 s on the first failure) plus one poll period.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from bench._common import summary
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage
from edge.readings import Quality
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import build_model
from edge.sim.sim_unit import SimUnit


async def wait_for_quality(image: ProcessImage, quality: Quality, limit_s: float) -> float:
    """Seconds until the meter's power reading has `quality` (polled every millisecond)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit_s:
        reading = image.freeze(time.monotonic(), time.time()).reading("m", "power_w")
        if reading is not None and reading.quality is quality:
            return time.perf_counter() - started
        await asyncio.sleep(0.001)
    raise TimeoutError(f"no {quality.value} within {limit_s} s")


async def run(trials: int, poll_s: float, timeout_s: float) -> None:
    clock = SystemClock()
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    unit = SimUnit(1, profile, build_model({"model": "load"}))
    server = SimModbusServer([unit], clock)
    link = ModbusLink(
        "lan", ModbusClient(TcpEndpoint("127.0.0.1", await server.start()), timeout_s), clock
    )
    image = ProcessImage(3 * poll_s)
    device = ModbusDevice("m", 1, profile, link, image, clock, poll_s)
    tasks = [asyncio.create_task(link.run()), asyncio.create_task(device.run())]
    to_flag, to_ok = [], []
    rng = random.Random(1)
    try:
        await wait_for_quality(image, Quality.OK, 30)
        for _ in range(trials):
            await asyncio.sleep(rng.uniform(0, poll_s))  # a random phase against the polls
            unit.fault.silent = True
            to_flag.append(await wait_for_quality(image, Quality.COMM_LOST, 30))
            unit.fault.silent = False
            to_ok.append(await wait_for_quality(image, Quality.OK, 60))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.stop()
    print(f"poll {poll_s:g} s, timeout {timeout_s:g} s, {trials} trials")
    print(f"  silent -> comm_lost : {summary(to_flag)} s")
    print(f"  answers -> ok       : {summary(to_ok)} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=0.5)
    a = parser.parse_args()
    asyncio.run(run(a.trials, a.poll, a.timeout))
