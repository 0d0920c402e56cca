"""Poll 20 simulated meters over loopback Modbus TCP (or one RTU line on a socat pty pair):
the driver layer (link + generic device: queue, decode, plausibility, process image) against
a bare pymodbus client doing the same reads, in the same run, alternating. Prints reads/s and
client CPU per poll cycle.

    python -m bench.modbus_fleet [--rtu] [--units 20] [--seconds 3] [--rounds 3] [--static]

The simulator runs in its own process (the 2 cores are shared, as in docs/sources.md). ptys ignore
baud rates: the RTU figures are software overhead, not what a real line carries.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient

from bench._common import child, sim, socat_pair
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.line_capacity import Framing
from edge.drivers.modbus_client import ModbusClient, SerialLine, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.drivers.read_plan import ReadBlock, plan_reads
from edge.process_image import ProcessImage

Result = tuple[float, float]  # reads/s, client CPU µs per cycle


def fast_blocks(profile: Profile) -> list[ReadBlock]:
    blocks = plan_reads(profile)
    fastest = min(b.period_s for b in blocks)
    return [b for b in blocks if b.period_s == fastest]


async def bare(
    target: TcpEndpoint | SerialLine, units: int, blocks: list[ReadBlock], seconds: float
) -> Result:
    client: Any
    if isinstance(target, TcpEndpoint):
        client = AsyncModbusTcpClient(target.host, port=target.port, timeout=1.0, retries=0)
    else:
        client = AsyncModbusSerialClient(
            target.port, framer=FramerType.RTU, baudrate=target.baud, timeout=1.0, retries=0
        )
    await client.connect()
    reads = cycles = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for unit in range(1, units + 1):
            for b in blocks:
                rr = await client.read_input_registers(b.address, count=b.count, device_id=unit)
                assert not rr.isError()
                reads += 1
        cycles += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    client.close()
    return reads / elapsed, 1e6 * cpu / cycles


async def driver(
    target: TcpEndpoint | SerialLine, units: int, profile: Profile, seconds: float
) -> Result:
    clock = SystemClock()
    framing = None if isinstance(target, TcpEndpoint) else Framing(target.baud, "N", 1)
    link = ModbusLink("lan", ModbusClient(target, 1.0), clock, framing=framing)
    image = ProcessImage(3.0)
    devices = [ModbusDevice(f"m{u}", u, profile, link, image, clock) for u in range(1, units + 1)]
    blocks = fast_blocks(profile)
    worker = asyncio.create_task(link.run())
    reads = cycles = 0
    cpu0, t0 = time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        # Every device asks for its fast blocks at once, as their poll tasks do at a shared
        # period; the link serves them one by one on the connection.
        await asyncio.gather(*(d.poll_block(b) for d in devices for b in blocks))
        reads += len(devices) * len(blocks)
        cycles += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert all(d.health.failures == 0 for d in devices), "a read failed during the benchmark"
    return reads / elapsed, 1e6 * cpu / cycles


async def compare(
    target: TcpEndpoint | SerialLine, units: int, profile: Profile, seconds: float, rounds: int
) -> tuple[list[Result], list[Result]]:
    blocks = fast_blocks(profile)
    bare_runs, driver_runs = [], []
    await bare(target, units, blocks, 0.5)  # warm-up: first connect, first pty read
    for _ in range(rounds):
        bare_runs.append(await bare(target, units, blocks, seconds))
        driver_runs.append(await driver(target, units, profile, seconds))
    return bare_runs, driver_runs


async def run(units: int, seconds: float, rounds: int, static: bool, rtu: bool) -> None:
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    blocks = fast_blocks(profile)
    extra = ["--static"] if static else []
    if rtu:
        with (
            tempfile.TemporaryDirectory() as folder,
            socat_pair(Path(folder)) as (a, b),
            child(sim("rtu", "--device", b, "--units", str(units), *extra), "ready"),
        ):
            target: TcpEndpoint | SerialLine = SerialLine(a, 115200, "N", 1)
            bare_runs, driver_runs = await compare(target, units, profile, seconds, rounds)
    else:
        with child(sim("tcp", "--units", str(units), *extra), "port") as (_, line):
            target = TcpEndpoint("127.0.0.1", int(line.split()[1]))
            bare_runs, driver_runs = await compare(target, units, profile, seconds, rounds)
    per_cycle = units * len(blocks)
    b_rate = statistics.median(r for r, _ in bare_runs)
    d_rate = statistics.median(r for r, _ in driver_runs)
    kind = ("RTU pty line" if rtu else "TCP loopback") + (", static sim" if static else "")
    print(
        f"{units} devices x {len(blocks)} fast blocks = {per_cycle} reads per poll cycle ({kind})"
    )
    for name, rate, runs in (
        ("bare pymodbus", b_rate, bare_runs),
        ("driver layer", d_rate, driver_runs),
    ):
        each = ", ".join(f"{r:.0f}" for r, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        print(f"  {name:13} : {rate:8.0f} reads/s  [{each}]  CPU {cpu:.0f} µs/cycle")
    print(f"  driver / bare : {100 * d_rate / b_rate:.0f}% (goal >= 80%)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--static", action="store_true", help="simulator without physics")
    parser.add_argument("--rtu", action="store_true", help="one RTU line on a socat pty pair")
    a = parser.parse_args()
    asyncio.run(run(a.units, a.seconds, a.rounds, a.static, a.rtu))
