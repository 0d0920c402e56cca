"""Outbox -> drain -> mosquitto -> reference consumer, including a broker outage."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edge.uplink.policy import MsgClass
from hil_tests.broker import Broker
from hil_tests.harness import PREFIX, hub, tail, until

pytestmark = pytest.mark.hil


@pytest.mark.parametrize("version", ["5", "3.1.1"])
async def test_events_state_and_telemetry_arrive_in_order(
    broker: Broker, tmp_path: Path, version: str
) -> None:
    async with tail(broker.url) as t, hub(broker.url, tmp_path, mqtt_version=version) as h:
        ids = [await h.outbox.accept("events/session", {"i": i}) for i in range(30)]
        for i in range(120):
            h.outbox.offer("telemetry/site", {"i": i})
        h.outbox.offer("state/bay-availability", {"bays": {}})
        await until(lambda: len(t.checker.records) >= 151, what="all records")
        got = [r["msg_id"] for r in t.checker.records if r["stream"] == "events/session"]
        assert got == ids
        tele = [r["payload"]["i"] for r in t.checker.records if r["stream"] == "telemetry/site"]
        assert tele == list(range(120))
        batches = [p for topic, p in t.raw if topic == f"{PREFIX}/telemetry/site"]
        assert len(batches) < 120  # several records per message
        assert t.checker.summary()["event_records_missing"] == 0
        await until(lambda: sum(h.outbox.counts.values()) == 0, what="outbox emptied")


async def test_outage_every_event_delivered_in_order_dups_detectable(
    broker: Broker, tmp_path: Path
) -> None:
    async with tail(broker.url) as t, hub(broker.url, tmp_path) as h:
        accepted: list[str] = []

        async def produce(n: int) -> None:
            for i in range(n):
                accepted.append(await h.outbox.accept(f"events/s{i % 3}", {"i": len(accepted)}))
                h.outbox.offer("telemetry/site", {"i": i})
                if i % 10 == 0:
                    await asyncio.sleep(0)

        await produce(200)
        broker.stop()
        await until(lambda: not h.link.connected.is_set(), what="link down")
        await produce(300)  # produced while the broker is away: kept in the outbox
        assert h.outbox.counts[MsgClass.EVENT] >= 300
        broker.start()
        await produce(200)
        await until(lambda: set(accepted) <= t.checker.seen, 90, "every event delivered")
        for s in ("events/s0", "events/s1", "events/s2"):
            seqs = [r["seq"] for r in t.checker.records if r["stream"] == s]
            assert seqs == sorted(seqs), "in order per stream"
            assert seqs == list(range(1, len(seqs) + 1)), "no gaps"
        # Whatever arrived twice carries the same msg_id, so the checker counted it.
        raw_ids = [
            r["msg_id"] for topic, p in t.raw if "/events/" in topic for r in [json.loads(p)]
        ]
        dups = len(raw_ids) - len(set(raw_ids))
        assert dups == sum(v.duplicates for s, v in t.checker.streams.items() if "events" in s)
