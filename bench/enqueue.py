"""Durable enqueue rate with group commit.

Events: N producer tasks each awaiting `accept` (committed with synchronous=FULL before it
returns); concurrent accepts share one transaction. Telemetry: `offer` (fire and forget,
committed within the window). Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.common import PAYLOAD, outbox


async def events(folder: Path, producers: int, each: int) -> float:
    box = outbox(folder)
    task = asyncio.create_task(box.run())
    await box.ready.wait()

    async def producer(k: int) -> None:
        for i in range(each):
            await box.accept(f"events/p{k % 8}", PAYLOAD | {"i": i})

    t0 = time.perf_counter()
    await asyncio.gather(*(producer(k) for k in range(producers)))
    dt = time.perf_counter() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()
    return producers * each / dt


async def telemetry(folder: Path, n: int) -> float:
    box = outbox(folder, window_s=0.2)
    task = asyncio.create_task(box.run())
    await box.ready.wait()
    t0 = time.perf_counter()
    for i in range(n):
        box.offer("telemetry/site", PAYLOAD | {"i": i})
        if i % 5000 == 4999:
            await asyncio.sleep(0)  # let the writer run, as the control loop would
    while box.counters["accepted"] < n:
        await box.flush()
    dt = time.perf_counter() - t0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()
    return n / dt


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    with tempfile.TemporaryDirectory() as tmp:
        for producers in (1, 10, 100):
            each = int(2000 * scale) // producers
            rate = asyncio.run(events(Path(tmp) / f"e{producers}", producers, max(each, 1)))
            print(f"events accept (FULL, group commit) producers={producers:<3} {rate:9.0f} msg/s")
        rate = asyncio.run(telemetry(Path(tmp) / "t", int(100_000 * scale)))
        print(f"telemetry offer (NORMAL, window 0.2 s)          {rate:9.0f} msg/s")


if __name__ == "__main__":
    main()
