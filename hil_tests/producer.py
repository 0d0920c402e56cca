"""A producer process for kill -9 tests and the bench: accepts events (and offers
telemetry) into an outbox while draining it to a broker. Prints `A <msg_id>` after each
accept has returned (committed), so the test knows exactly what was accepted.

    python -m hil_tests.producer --state DIR --broker URL [--drain-only] [--count N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.mqtt_adapter import LinkSettings, MqttLink
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget

PREFIX = "hubs/test-hub"


ROOT = Path(__file__).resolve().parents[1]


async def spawn(state: Path, url: str, boot: str, *extra: str) -> asyncio.subprocess.Process:
    """Start this producer as a child process (its stdout says what it accepted)."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hil_tests.producer", "--state", str(state), "--broker", url,
        "--boot", boot, *extra, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def read_accepts(proc: asyncio.subprocess.Process, want: int, into: list[str]) -> None:
    """Collect the ids the producer printed as accepted (`A <id>`), up to `want` of them."""
    assert proc.stdout is not None
    got = 0
    while got < want:
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        if not line:
            break
        if line.startswith(b"A "):
            into.append(line[2:].strip().decode())
            got += 1


async def main(args: argparse.Namespace) -> int:
    settings = OutboxSettings(Path(args.state) / "outbox.db", Budget(10**9, 10**7))
    box = Outbox(settings, site="test-hub", boot_id=args.boot)
    link = MqttLink(LinkSettings(args.broker, "producer", backoff_min_s=0.1, backoff_max_s=0.5))
    drain = Drain(box, link, DrainSettings(PREFIX, "test-hub"))
    tasks = [asyncio.create_task(t()) for t in (box.run, link.run, drain.run)]
    await box.ready.wait()
    try:
        return await work(args, box, link)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await box.close()  # commit what is queued before the process exits


async def work(args: argparse.Namespace, box: Outbox, link: MqttLink) -> int:
    if args.drain_only:
        for _ in range(6000):  # bounded: at most ~60 s
            if sum(box.counts.values()) == 0 and link.connected.is_set():
                await link.close()
                print("EMPTY", flush=True)
                return 0
            await asyncio.sleep(0.01)
        return 1
    for i in range(args.count):
        msg_id = await box.accept(f"events/s{i % 3}", {"i": i})
        sys.stdout.write(f"A {msg_id}\n")
        sys.stdout.flush()
        box.offer("telemetry/site", {"i": i})
    return 0


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--state", required=True)
    p.add_argument("--broker", required=True)
    p.add_argument("--boot", default="boot")
    p.add_argument("--count", type=int, default=1_000_000)
    p.add_argument("--drain-only", action="store_true")
    sys.exit(asyncio.run(main(p.parse_args())))
