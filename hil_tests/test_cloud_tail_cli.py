"""`edge cloud-tail` as the cloud team runs it: a subprocess that prints and stores records."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_cloud_tail_text_mode_survives_status_messages(
    broker: Broker, tmp_path: Path
) -> None:
    """`<prefix>/status` (birth, will) is presence, not a record: text mode printed a
    KeyError traceback for each one."""
    async with hub(broker.url, tmp_path / "state") as h:
        status = b'{"v": 1, "site": "test-hub", "state": "online", "boot_id": "b"}'
        await asyncio.wait_for(h.link.connected.wait(), 30)  # a loaded machine connects late
        assert h.link.publish(f"{PREFIX}/status", status, retain=True) is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge", "cloud-tail", "--broker", broker.url,
            "--prefix", PREFIX, "--duration", "20", "--client-id", "tail-cli-text",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        line, ids = b"", []
        try:
            for _ in range(100):  # until the tail has subscribed and shown a record
                ids.append(await h.outbox.accept("events/session", {"n": len(ids)}))
                with contextlib.suppress(TimeoutError):
                    line = await asyncio.wait_for(proc.stdout.readline(), 0.3)
                if line:
                    break
        finally:
            proc.terminate()
            _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert "Traceback" not in err.decode(), err.decode()
    stream, seq, msg_id = line.decode().split()[:3]
    assert seq.startswith("#")
    assert stream == "events/session"
    assert any(i.startswith(msg_id) for i in ids)
    assert json.loads(err.decode()[err.decode().index("{") :])["malformed"] == 0
