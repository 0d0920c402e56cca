"""Poll-period jitter of healthy units on one RTU line (socat pty pair, simulator in its own
process), without and with one dead unit on the line.

    python -m bench.rtu_jitter [--seconds 20] [--poll 0.5] [--timeout 0.3] [--units 4]

Reported per case: the intervals between consecutive fast-block polls of the healthy units.
The rule being measured: a dead unit costs a healthy one at most one timeout (plus one
reply frame time) per poll.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
from pathlib import Path

from bench._common import child, sim, socat_pair, summary
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.line_capacity import Framing
from edge.drivers.modbus_client import ModbusClient, SerialLine
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink, Served
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage


async def measure(
    port: str, units: int, dead: int | None, seconds: float, poll_s: float, timeout_s: float
) -> tuple[list[float], int]:
    clock = SystemClock()
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    client = ModbusClient(SerialLine(port, 19200, "N", 1), timeout_s)
    link = ModbusLink("rs485", client, clock, framing=Framing(19200, "N", 1))
    served: list[Served] = []
    link.observers.append(served.append)
    image = ProcessImage(3.0)
    ids = list(range(1, units + 1)) + ([dead] if dead else [])
    devices = [ModbusDevice(f"m{n}", n, profile, link, image, clock, poll_s) for n in ids]
    tasks = [asyncio.create_task(link.run())] + [asyncio.create_task(d.run()) for d in devices]
    await asyncio.sleep(seconds)  # a benchmark runs for a fixed time
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    intervals: list[float] = []
    for n in range(1, units + 1):
        polls = [s.started for s in served if s.unit == n and s.address == 0 and s.outcome == "ok"]
        intervals += [b - a for a, b in itertools.pairwise(polls)][1:]
    dead_attempts = sum(1 for s in served if s.unit == dead and s.outcome == "timeout")
    return intervals, dead_attempts


async def run(seconds: float, poll_s: float, timeout_s: float, units: int) -> None:
    dead = units + 1
    results = {}
    # The simulator has the dead unit's id too, but never answers for it.
    line = ["rtu", "--units", str(dead), "--dead", str(dead)]
    with (
        tempfile.TemporaryDirectory() as folder,
        socat_pair(Path(folder)) as (a, b),
        child(sim(*line, "--device", b), "ready"),
    ):
        results["all healthy"] = await measure(a, units, None, seconds, poll_s, timeout_s)
        results["one dead unit"] = await measure(a, units, dead, seconds, poll_s, timeout_s)
    print(
        f"{units} healthy SDM630 on one RTU line, fast period {poll_s:g} s, timeout {timeout_s:g} s"
    )
    for case, (intervals, attempts) in results.items():
        extra = f", dead unit tried {attempts} times" if attempts else ""
        print(f"  {case:14}: interval {summary(intervals)} s{extra}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=0.3)
    parser.add_argument("--units", type=int, default=4)
    a = parser.parse_args()
    asyncio.run(run(a.seconds, a.poll, a.timeout, a.units))
