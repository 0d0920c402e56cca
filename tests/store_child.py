"""A child process for the seq tests: offers records before its outbox opens (as the control
cycle and the alarms do), then opens it and produces until killed. It prints `PRE` once
the early records are offered, `OPEN` once the file is open and `A <n>` after each accept
returned, so the test can kill it at each of those points.

    python -m tests.store_child --state DIR --boot BOOT
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(state: Path, boot: str) -> None:
    settings = OutboxSettings(state / "outbox.db", Budget(10**9, 10**7), commit_window_s=0.01)
    box = Outbox(settings, site="seq-hub", boot_id=boot)
    box.offer("telemetry/site", {"early": True})  # the control cycle's first record
    box.offer("events/alarm", {"alarm": "early", "active": True})  # e.g. buffer_corrupt
    box.offer("state/site", {"early": True})
    say("PRE")
    await asyncio.sleep(0.02)  # a window in which only the early records exist
    writer = asyncio.create_task(box.run())
    await box.ready.wait()
    say("OPEN")
    for i in range(100_000):  # bounded; the test kills it long before
        box.offer("telemetry/site", {"i": i})
        await box.accept("events/alarm", {"i": i})
        box.offer("state/site", {"i": i})
        say(f"A {i}")
    writer.cancel()
    await box.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--state", required=True)
    p.add_argument("--boot", required=True)
    a = p.parse_args()
    asyncio.run(main(Path(a.state), a.boot))
