"""PUBACKs with a failure reason code delete nothing (paho reports them as published);
a message refused repeatedly goes to the dead-letter table with an alarm and does not
block the other streams. A small budget: telemetry evicted, events kept, alarm raised."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from edge.uplink.policy import Budget, MsgClass
from hil_tests.broker import Broker
from hil_tests.harness import PREFIX, hub, tail, until

pytestmark = pytest.mark.hil


@pytest.fixture
def acl_broker(tmp_path: Path) -> Broker:
    acl = tmp_path / "acl"
    acl.write_text(
        f"topic read {PREFIX}/#\n"
        f"topic readwrite {PREFIX}/events/ok/#\n"
        f"topic readwrite {PREFIX}/status\n"
    )
    b = Broker(tmp_path / "broker", extra=f"acl_file {acl}")
    b.start()
    yield b  # type: ignore[misc]
    b.stop()


async def test_refused_puback_keeps_rows_then_dead_letters(
    acl_broker: Broker, tmp_path: Path
) -> None:
    async with tail(acl_broker.url) as t, hub(acl_broker.url, tmp_path) as h:
        denied = [await h.outbox.accept("events/denied", {"i": i}) for i in range(2)]
        ok = [await h.outbox.accept("events/ok/a", {"i": i}) for i in range(10)]
        await until(lambda: set(ok) <= t.checker.seen, 60, "the allowed stream")
        await until(lambda: h.outbox.counts[MsgClass.EVENT] == 0, 60, "dead-lettered")
        assert not set(denied) & t.checker.seen
        assert h.drain.refused >= 2 * 3  # each refused max_failures times, never deleted early
        assert "buffer_dead_letter" in h.outbox.alarms.active
        with contextlib.closing(sqlite3.connect(h.outbox.db.path)) as db:
            row = db.execute("SELECT count(*) FROM dead").fetchone()
        assert row is not None
        assert row[0] == 2


async def test_small_budget_evicts_telemetry_keeps_events_alarm(
    broker: Broker, tmp_path: Path
) -> None:
    async with tail(broker.url) as t, hub(broker.url, tmp_path, budget=Budget(40_000, 10_000)) as h:
        broker.stop()  # nothing drains: the outbox has to hold it all
        await until(lambda: not h.link.connected.is_set(), 30, "link down")
        events = []
        for i in range(600):
            h.outbox.offer("telemetry/site", {"i": i, "pad": "t" * 150})
            if i % 30 == 0:
                events.append(await h.outbox.accept("events/session", {"i": i}))
        await h.outbox.flush()
        assert h.outbox.usage.telemetry_bytes <= 40_000 - max(10_000, h.outbox.usage.event_bytes)
        assert h.outbox.counters["evicted"] + h.outbox.counters["downsampled"] > 0
        assert "buffer_budget" in h.outbox.alarms.active
        broker.start()  # the tail's session (persisted by the broker) gets it all
        await until(lambda: set(events) <= t.checker.seen, 60, "events delivered")
        assert t.checker.event_losses() == 0
        tele = [r["payload"]["i"] for r in t.checker.records if r["stream"] == "telemetry/site"]
        assert tele == sorted(tele)
        assert tele[-1] == 599  # the newest survives; older ones thinned or evicted
        assert len(tele) < 600
