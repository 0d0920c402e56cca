"""kill -9 of a producer at random points while producing and draining: nothing accepted
is lost. Cycles: EDGE_KILL9_CYCLES (20 by default, as in CI)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import pytest

from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.producer import read_accepts, spawn

pytestmark = pytest.mark.hil
CYCLES = int(os.environ.get("EDGE_KILL9_CYCLES", "20"))


async def test_kill9_loses_nothing_accepted(broker: Broker, tmp_path: Path) -> None:
    rnd = random.Random(int(os.environ.get("EDGE_KILL9_SEED", "4")))
    accepted: list[str] = []
    async with tail(broker.url, name="kill9-tail") as t:
        for cycle in range(CYCLES):
            proc = await spawn(tmp_path / "state", broker.url, f"boot-{cycle}")
            try:
                await read_accepts(proc, rnd.randint(1, 150), accepted)
                await asyncio.sleep(
                    rnd.uniform(0.0, 0.05)
                )  # land anywhere: insert, publish, delete
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)
                await proc.wait()
        drain = await spawn(tmp_path / "state", broker.url, "boot-final", "--drain-only")
        assert drain.stdout is not None
        out = await asyncio.wait_for(drain.stdout.read(), 90)
        assert await drain.wait() == 0, out
        assert b"EMPTY" in out
        await until(lambda: set(accepted) <= t.checker.seen, 60, "every accepted event")
    lost = set(accepted) - t.checker.seen
    dups = sum(v.duplicates for v in t.checker.streams.values())
    print(f"kill9 cycles={CYCLES} accepted={len(accepted)} lost={len(lost)} duplicates={dups}")
    assert not lost
    for s in ("events/s0", "events/s1", "events/s2"):
        seqs = [r["seq"] for r in t.checker.records if r["stream"] == s]
        assert seqs == list(range(1, len(seqs) + 1)), f"{s}: gapless, in order"
