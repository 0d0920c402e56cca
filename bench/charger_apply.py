"""The charger port's cost over loopback Modbus TCP: `DeviceCharger.apply` of both connectors
of an Alpitronic (FC16 write + FC3 read-back each, through the link's queue, the driver and
the port) against a bare pymodbus client doing the same four requests, in the same run,
alternating.

    python -m bench.charger_apply [--seconds 2] [--rounds 3]

The simulator runs in its own process (bench.sim_process, static image). Figures: applies
per second and this process's CPU time per apply, and the port's ratio to the bare client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time

from pymodbus.client import AsyncModbusTcpClient

from bench._common import child, sim
from edge.chargers.device_charger import BayConnector, DeviceCharger
from edge.chargers.port import Outcome
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage

Result = tuple[float, float]  # applies/s, client CPU µs per apply
CONNECTOR_HR = (100, 200)  # HR 100·n: connector n's power limit (U32, high word first)


def _words(watts: int) -> list[int]:
    return [watts >> 16, watts & 0xFFFF]


async def bare(port: int, seconds: float) -> Result:
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1.0, retries=0)
    await client.connect()
    applies, cpu0, t0 = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for address in CONNECTOR_HR:
            watts = 100_000 + applies % 1000
            assert not (await client.write_registers(address, _words(watts), device_id=1)).isError()
            rr = await client.read_holding_registers(address, count=2, device_id=1)
            assert rr.registers == _words(watts)
        applies += 1
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    client.close()
    return applies / elapsed, 1e6 * cpu / applies


async def through_port(port: int, seconds: float) -> Result:
    clock = SystemClock()
    profile = shipped_catalog()["alpitronic-hyc"]
    assert isinstance(profile, Profile)
    link = ModbusLink("lan", ModbusClient(TcpEndpoint("127.0.0.1", port), 1.0), clock)
    device = ModbusDevice("hyc", 1, profile, link, ProcessImage(3.0), clock, startup={})
    charger = DeviceCharger("ch01", device, [BayConnector("B1", 1), BayConnector("B2", 2)])
    runner = asyncio.create_task(link.run())
    try:
        applies, cpu0, t0 = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            watts = float(100_000 + applies % 1000)
            result = await charger.apply({"B1": watts, "B2": watts})
            assert all(w.outcome is Outcome.CONFIRMED for w in result.writes), result
            applies += 1
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    return applies / elapsed, 1e6 * cpu / applies


async def run(seconds: float, rounds: int) -> None:
    args = sim("tcp", "--units", "1", "--profile", "alpitronic-hyc", "--static")
    with child(args, "port ") as (_, line):
        port = int(line.split()[1])
        raw: list[Result] = []
        ported: list[Result] = []
        for _ in range(rounds):
            raw.append(await bare(port, seconds))
            ported.append(await through_port(port, seconds))
    for name, results in (("bare pymodbus", raw), ("charger port", ported)):
        rate = statistics.median(r[0] for r in results)
        cpu = statistics.median(r[1] for r in results)
        print(f"{name:14s} {rate:8.0f} applies/s  {cpu:7.0f} µs CPU per apply (2 connectors)")
    rate_ratio = statistics.median(r[0] for r in raw) / statistics.median(r[0] for r in ported)
    cpu_ratio = statistics.median(r[1] for r in ported) / statistics.median(r[1] for r in raw)
    print(f"port / bare: {rate_ratio:.2f}x the wall time, {cpu_ratio:.2f}x the CPU per apply")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rounds))


if __name__ == "__main__":
    main()
