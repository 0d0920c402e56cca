"""`edge cloud-tail` as the cloud team runs it: a subprocess that prints and stores records."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from hil_tests.broker import Broker
from hil_tests.harness import PREFIX, hub

pytestmark = pytest.mark.hil
ROOT = Path(__file__).resolve().parents[1]


async def test_cloud_tail_prints_stores_and_summarises(broker: Broker, tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge",
        "cloud-tail",
        "--broker",
        broker.url,
        "--prefix",
        PREFIX,
        "--json",
        "--out",
        str(out),
        "--duration",
        "20",
        "--client-id",
        "tail-cli",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        async with hub(broker.url, tmp_path / "state") as h:
            ids: list[str] = []
            lines: list[dict[str, object]] = []
            for _ in range(100):  # until the tail has subscribed and shown five records
                ids.append(await h.outbox.accept("events/session", {"n": len(ids)}))
                try:
                    line = await asyncio.wait_for(proc.stdout.readline(), 0.3)
                except TimeoutError:
                    continue
                assert line, "cloud-tail exited early"
                lines.append(json.loads(line))
                if len(lines) >= 5:
                    break
    finally:
        if proc.returncode is None:
            proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    got = [line["record"]["msg_id"] for line in lines]  # type: ignore[index]
    first = ids.index(got[0])
    assert got == ids[first : first + len(got)]  # contiguous, in order
    assert all(line["verdict"] == "ok" for line in lines)
    stored = [json.loads(x)["msg_id"] for x in out.read_text().splitlines()]
    assert stored[: len(got)] == got
    summary = json.loads(err.decode()[err.decode().index("{") :])
    assert summary["streams"]["events/session"]["received"] >= 5
    assert summary["event_records_missing"] == 0
