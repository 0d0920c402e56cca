"""kill -9 cycles of a producer (accepting and draining at once): lost and duplicated
messages as the reference consumer sees them. Prints figures; asserts nothing.

    python -m bench.kill9 [CYCLES]      (default 100)
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.common import broker
from edge.uplink.cloud_tail import Tail
from edge.uplink.mqtt_adapter import LinkSettings
from hil_tests.producer import read_accepts, spawn


async def one_cycle(state: Path, url: str, n: int, rnd: random.Random, into: list[str]) -> None:
    proc = await spawn(state, url, f"boot-{n}")
    try:
        await read_accepts(proc, rnd.randint(1, 300), into)
        await asyncio.sleep(rnd.uniform(0.0, 0.05))
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()


async def run(url: str, state: Path, cycles: int) -> None:
    rnd = random.Random(7)
    tail = Tail(LinkSettings(url, "kill9-bench-tail"), "hubs/test-hub")
    task = asyncio.create_task(tail.link.run())
    await tail.link.connected.wait()
    accepted: list[str] = []
    t0 = time.perf_counter()
    for n in range(cycles):
        await one_cycle(state, url, n, rnd, accepted)
    final = await spawn(state, url, "final", "--drain-only")
    assert final.stdout is not None
    await asyncio.wait_for(final.stdout.read(), 120)
    await final.wait()
    for _ in range(600):  # bounded: up to ~60 s for the last deliveries
        if set(accepted) <= tail.checker.seen:
            break
        await asyncio.sleep(0.1)
    took = time.perf_counter() - t0
    lost = set(accepted) - tail.checker.seen
    events = {s: v for s, v in tail.checker.streams.items() if s.startswith("events/")}
    dups = sum(v.duplicates for v in events.values())
    received = sum(v.received for v in events.values())
    gaps = tail.checker.event_losses()
    print(
        f"kill -9 cycles={cycles} in {took:.0f} s: accepted={len(accepted)} lost={len(lost)} "
        f"event records received={received} duplicate deliveries={dups} event seq gaps={gaps}"
    )
    await tail.link.close()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def main() -> None:
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with broker() as b, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(b.url, Path(tmp) / "state", cycles))


if __name__ == "__main__":
    main()
