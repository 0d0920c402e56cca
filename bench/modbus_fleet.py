"""Poll 20 simulated meters over loopback Modbus TCP (or one RTU line on a socat pty pair):
the driver layer (link + generic device: queue, decode, plausibility, process image) against
a bare pymodbus client doing the same reads, in the same run, alternating.

    python -m bench.modbus_fleet [--rtu] [--units 20] [--seconds 3] [--rounds 3] [--static]
                                 [--malloc-default]

The simulator runs in its own process (the 2 cores are shared, see docs/sources.md), so
reads/s are bounded by the simulator more than by the client. The figure that isolates the
driver is the client's CPU time per read (this process's `time.process_time`), against the
bare client's in the same run; the simulator's CPU per read (its /proc stat) is printed too.
ptys ignore baud rates: the RTU figures are software overhead, not what a real line carries.

asyncio's socket transport receives each reply into a new 256 KiB buffer. Whether glibc
serves it from the heap or maps and unmaps it (mmap, munmap, page faults) depends on the
heap's history (its thresholds adapt), so the same client code measured about 75 or about
110 µs per read from one process to the next. The benchmark pins the thresholds (mallopt)
before anything runs, so two runs compare code, not heap history; --malloc-default
leaves them alone.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
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

Result = tuple[float, float, float]  # reads/s, client CPU µs per read, server CPU µs per read


class ServerCpu:
    """CPU seconds (user + system) used so far by the simulator process, from /proc."""

    def __init__(self, pid: int) -> None:
        self._stat = Path(f"/proc/{pid}/stat")
        self._tick = os.sysconf("SC_CLK_TCK")

    def seconds(self) -> float:
        fields = self._stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self._tick  # utime, stime


def pin_malloc() -> str:
    """Fix glibc's mmap and trim thresholds (see the module's doc); what was done."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "malloc thresholds: not glibc, left alone"
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    if libc.mallopt(m_mmap_threshold, 1 << 20) and libc.mallopt(m_trim_threshold, 8 << 20):
        return "malloc thresholds: pinned (mmap 1 MiB, trim 8 MiB)"
    return "malloc thresholds: mallopt refused, left alone"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def fast_blocks(profile: Profile) -> list[ReadBlock]:
    blocks = plan_reads(profile)
    fastest = min(b.period_s for b in blocks)
    return [b for b in blocks if b.period_s == fastest]


async def bare(
    target: TcpEndpoint | SerialLine,
    units: int,
    blocks: list[ReadBlock],
    seconds: float,
    server: ServerCpu | None = None,
) -> Result:
    client: Any
    if isinstance(target, TcpEndpoint):
        client = AsyncModbusTcpClient(target.host, port=target.port, timeout=1.0, retries=0)
    else:
        client = AsyncModbusSerialClient(
            target.port, framer=FramerType.RTU, baudrate=target.baud, timeout=1.0, retries=0
        )
    await client.connect()
    reads = 0
    cpu0, t0, srv0 = time.process_time(), time.perf_counter(), _server_s(server)
    while time.perf_counter() - t0 < seconds:
        for unit in range(1, units + 1):
            for b in blocks:
                rr = await client.read_input_registers(b.address, count=b.count, device_id=unit)
                assert not rr.isError()
                reads += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    srv = _server_s(server) - srv0
    client.close()
    return reads / elapsed, 1e6 * cpu / reads, 1e6 * srv / reads


def _server_s(server: ServerCpu | None) -> float:
    return server.seconds() if server is not None else 0.0


async def driver(
    target: TcpEndpoint | SerialLine,
    units: int,
    profile: Profile,
    seconds: float,
    server: ServerCpu | None = None,
) -> Result:
    clock = SystemClock()
    framing = None if isinstance(target, TcpEndpoint) else Framing(target.baud, "N", 1)
    link = ModbusLink("lan", ModbusClient(target, 1.0), clock, framing=framing)
    image = ProcessImage(3.0)
    devices = [ModbusDevice(f"m{u}", u, profile, link, image, clock) for u in range(1, units + 1)]
    blocks = fast_blocks(profile)
    worker = asyncio.create_task(link.run())
    cpu0, t0, srv0 = time.process_time(), time.perf_counter(), _server_s(server)
    end = t0 + seconds

    async def poll(device: ModbusDevice) -> int:
        # One long-lived task per device, as in the daemon; all of them contend for the
        # link at once and the link serves them one by one on the connection.
        done = 0
        while time.perf_counter() < end:
            for block in blocks:
                await device.poll_block(block)
            done += len(blocks)
        return done

    reads = sum(await asyncio.gather(*(poll(d) for d in devices)))
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    srv = _server_s(server) - srv0
    worker.cancel()
    await asyncio.gather(worker, return_exceptions=True)
    assert all(d.health.failures == 0 for d in devices), "a read failed during the benchmark"
    return reads / elapsed, 1e6 * cpu / reads, 1e6 * srv / reads


async def compare(
    target: TcpEndpoint | SerialLine,
    units: int,
    profile: Profile,
    seconds: float,
    rounds: int,
    server: ServerCpu,
) -> tuple[list[Result], list[Result]]:
    blocks = fast_blocks(profile)
    bare_runs, driver_runs = [], []
    await bare(target, units, blocks, 0.5)  # warm-up: first connect, first pty read
    for _ in range(rounds):
        bare_runs.append(await bare(target, units, blocks, seconds, server))
        driver_runs.append(await driver(target, units, profile, seconds, server))
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
            child(sim("rtu", "--device", b, "--units", str(units), *extra), "ready") as (proc, _),
        ):
            target: TcpEndpoint | SerialLine = SerialLine(a, 115200, "N", 1)
            server = ServerCpu(proc.pid)
            bare_runs, driver_runs = await compare(target, units, profile, seconds, rounds, server)
    else:
        with child(sim("tcp", "--units", str(units), *extra), "port") as (proc, line):
            target = TcpEndpoint("127.0.0.1", int(line.split()[1]))
            server = ServerCpu(proc.pid)
            bare_runs, driver_runs = await compare(target, units, profile, seconds, rounds, server)
    report(units, len(blocks), rtu, static, bare_runs, driver_runs)
    print(f"  {load()} (1, 5, 15 min) at the end")


def report(
    units: int,
    blocks: int,
    rtu: bool,
    static: bool,
    bare_runs: list[Result],
    driver_runs: list[Result],
) -> None:
    kind = ("RTU pty line" if rtu else "TCP loopback") + (", static sim" if static else "")
    print(f"{units} devices x {blocks} fast blocks = {units * blocks} reads per cycle ({kind})")
    medians = {}
    for name, runs in (("bare pymodbus", bare_runs), ("driver layer", driver_runs)):
        rate, cpu, srv = (statistics.median(r[i] for r in runs) for i in range(3))
        medians[name] = (rate, cpu)
        each = ", ".join(f"{r:.0f}" for r, _, _ in runs)
        cpus = ", ".join(f"{c:.0f}" for _, c, _ in runs)
        print(
            f"  {name:13} : {rate:6.0f} reads/s [{each}]  client CPU {cpu:5.1f} µs/read "
            f"[{cpus}]  simulator CPU {srv:5.1f} µs/read"
        )
    (b_rate, b_cpu), (d_rate, d_cpu) = medians["bare pymodbus"], medians["driver layer"]
    ratios = ", ".join(f"{d[1] / b[1]:.2f}" for b, d in zip(bare_runs, driver_runs, strict=True))
    print(f"  client CPU driver / bare : {d_cpu / b_cpu:.2f}x per round [{ratios}] (goal <= 1.3x)")
    print(f"  reads/s driver / bare    : {100 * d_rate / b_rate:.0f}% (bound by the simulator)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--static", action="store_true", help="simulator without physics")
    parser.add_argument("--rtu", action="store_true", help="one RTU line on a socat pty pair")
    parser.add_argument(
        "--malloc-default", action="store_true", help="leave glibc's malloc thresholds adaptive"
    )
    a = parser.parse_args()
    print("malloc thresholds: default (adaptive)" if a.malloc_default else pin_malloc())
    print(f"{load()} (1, 5, 15 min) at the start")
    asyncio.run(run(a.units, a.seconds, a.rounds, a.static, a.rtu))
