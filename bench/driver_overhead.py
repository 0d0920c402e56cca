"""The driver layer's own CPU per read, without sockets: 20 SDM630 on one link whose pymodbus
client is replaced by one that answers after one event-loop turn, as a real reply does.

    python -m bench.driver_overhead [--repeats 7]

Three loops over the same reads: that client alone (the floor), our `ModbusClient` adapter
over it, and the whole driver layer (devices, link queue and worker, decode, plausibility,
process image). CPU time of this thread (`time.thread_time`), best of the repeats: other
processes on the machine lengthen wall time but hardly this figure, unlike
`bench.modbus_fleet`, which measures the same code under real I/O.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.modbus_fleet import fast_blocks
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage

READS = 10_000
UNITS = 20


class _Reply:
    __slots__ = ("bits", "function_code", "registers")

    def __init__(self, registers: list[int]) -> None:
        self.registers = registers
        self.function_code = 4
        self.bits: list[bool] = []

    def isError(self) -> bool:  # noqa: N802 (pymodbus's name)
        return False


class AnsweringClient:
    """What `ModbusClient` uses of a pymodbus client; every read answers after one turn."""

    connected = True

    async def read_input_registers(self, address: int, count: int, device_id: int) -> _Reply:
        await asyncio.sleep(0)
        return _Reply([0] * count)

    # The adapter may look every read function up, whichever it calls.
    read_holding_registers = read_coils = read_discrete_inputs = read_input_registers

    def close(self) -> None:
        pass


async def once(profile: Profile) -> tuple[float, float, float]:
    """µs of CPU per read: the client alone, our adapter over it, the driver layer."""
    blocks = fast_blocks(profile)
    fake = AnsweringClient()
    adapter = ModbusClient(TcpEndpoint("127.0.0.1", 1), 1.0)
    adapter._client = fake  # type: ignore[assignment]  # no socket: the point of this bench
    clock = SystemClock()
    link = ModbusLink("lan", adapter, clock)
    image = ProcessImage(3.0)
    devices = [ModbusDevice(f"m{u}", u, profile, link, image, clock) for u in range(1, UNITS + 1)]
    per_block = READS // len(blocks)

    t0 = time.thread_time_ns()
    for _ in range(per_block):
        for b in blocks:
            await fake.read_input_registers(b.address, count=b.count, device_id=1)
    t1 = time.thread_time_ns()
    for _ in range(per_block):
        for b in blocks:
            await adapter.read(b.table, b.address, b.count, 1)
    t2 = time.thread_time_ns()
    worker = asyncio.create_task(link.run())

    async def poll(device: ModbusDevice) -> None:
        for _ in range(per_block // UNITS):
            for b in blocks:
                await device.poll_block(b)

    await asyncio.gather(*(poll(d) for d in devices))
    t3 = time.thread_time_ns()
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert all(d.health.failures == 0 and d.health.invalid_values == 0 for d in devices)
    n = per_block * len(blocks)
    return (t1 - t0) / n / 1e3, (t2 - t1) / n / 1e3, (t3 - t2) / n / 1e3


async def run(repeats: int) -> None:
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    runs = [await once(profile) for _ in range(repeats)]
    floor, adapter, layer = (min(r[i] for r in runs) for i in range(3))
    print(f"CPU per read, best of {repeats} x {READS} reads (SDM630 fast blocks, {UNITS} units):")
    print(f"  answering client alone : {floor:5.1f} µs")
    print(f"  + ModbusClient adapter : {adapter:5.1f} µs  (+{adapter - floor:.1f})")
    print(f"  whole driver layer     : {layer:5.1f} µs  (+{layer - floor:.1f} over the client)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    asyncio.run(run(parser.parse_args().repeats))
