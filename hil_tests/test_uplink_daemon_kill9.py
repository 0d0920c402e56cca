"""kill -9 of the whole daemon at random points while the cloud sends commands and the
daemon answers through its outbox: after restarts, every command gets its reply and the
reply stream has no gap. Cycles: EDGE_KILL9_CYCLES (20 by default, as in CI).

A command is persisted before the daemon acknowledges it to the broker, and its reply is an
event in the outbox; so a kill anywhere (before the ack: the broker redelivers; after it:
the reply is in the outbox, or the redelivery is answered `duplicate`) loses nothing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from pathlib import Path

import pytest

from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.test_uplink_daemon import PREFIX, Cloud, replies, site_file

pytestmark = pytest.mark.hil
ROOT = Path(__file__).resolve().parents[1]
CYCLES = int(os.environ.get("EDGE_KILL9_CYCLES", "20"))


async def start_daemon(config: Path, workdir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge", "run", "--config", str(config),
        "--socket", str(workdir / "edge.sock"),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


def births(raw: list[tuple[str, bytes]]) -> int:
    return sum(topic == f"{PREFIX}/status" and b'"online"' in payload for topic, payload in raw)


async def test_kill9_of_the_daemon_loses_no_reply(broker: Broker, tmp_path: Path) -> None:
    rnd = random.Random(int(os.environ.get("EDGE_KILL9_SEED", "11")))
    config = site_file(tmp_path, broker)  # one state dir for every run, as on a hub
    sent: list[str] = []
    async with (
        tail(broker.url, name="kill9-daemon-tail", prefix=PREFIX) as t,
        Cloud(broker.url) as cloud,
    ):
        # First boot: the daemon's persistent session must exist at the broker before the
        # cloud sends anything, or the broker has nobody to queue commands for.
        first = await start_daemon(config, tmp_path)
        try:
            await until(lambda: births(t.raw) > 0, 60, "the daemon's birth message")
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        for cycle in range(CYCLES):
            proc = await start_daemon(config, tmp_path)
            try:
                # Commands keep coming while the daemon starts, connects, runs and dies.
                for i in range(rnd.randint(5, 40)):
                    request_id = f"c{cycle}-{i}"
                    cloud.send("ping", {"request_id": request_id, "args": {}})
                    sent.append(request_id)
                    await asyncio.sleep(rnd.uniform(0.0, 0.06))
            finally:
                proc.send_signal(signal.SIGKILL)
                await proc.wait()
        seen_births = births(t.raw)
        final = await start_daemon(config, tmp_path)
        try:
            await until(lambda: births(t.raw) > seen_births, 60, "the final daemon online")
            try:
                await until(lambda: set(sent) <= set(replies(t)), 60, "a reply to every command")
            except AssertionError:
                missing = sorted(set(sent) - set(replies(t)))
                raise AssertionError(
                    f"{len(missing)} of {len(sent)} unanswered: {missing[:20]}"
                ) from None
        finally:
            final.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(final.wait(), 10) == 0
    answered = replies(t)
    # A ping killed while running is answered `interrupted` at the next start, never lost.
    outcomes = {(answered[r]["status"], answered[r].get("code")) for r in sent}
    assert outcomes <= {("ok", None), ("duplicate", "seen"), ("error", "interrupted")}
    checker = t.checker.streams["cmd-reply"]
    print(f"daemon kill9 cycles={CYCLES} commands={len(sent)} duplicates={checker.duplicates}")
    seqs = sorted({r["seq"] for r in t.checker.records if r["stream"] == "cmd-reply"})
    assert seqs == list(range(1, len(seqs) + 1)), "cmd-reply: no gap in the accepted replies"
