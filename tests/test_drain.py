"""The drain against a fake link (no broker): ordering, live events, refusals, reconnects.
Time is a SimClock: the drain's backoff after a refusal is stepped, not waited for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from edge.clock import SimClock, SystemClock
from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget, MsgClass

CLOCK = SimClock(1_800_000_000.0)  # the clock both the outbox and the drain read


class NowClock(SystemClock):
    """The outbox waits in real time (its commit window) but stamps CLOCK's wall time."""

    def wall(self) -> float:
        return CLOCK.wall()


class FakeLink:
    """Records publishes; the test decides when and how each is acknowledged."""

    def __init__(self, window: int = 10) -> None:
        self.connected = asyncio.Event()
        self.connections = 1
        self.window = window
        self.on_acks = lambda acks: None
        self.on_disconnected = lambda: None
        self.published: list[tuple[int, str, str]] = []
        self.unacked: list[int] = []

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> int | None:
        if not self.connected.is_set():
            return None
        mid = len(self.published) + 1
        self.published.append((mid, topic, payload))
        self.unacked.append(mid)
        return mid

    def ack_all(self, refuse: Callable[[str], bool] = lambda payload: False) -> None:
        """Acknowledge every outstanding publish; 0x87 for those `refuse` picks."""
        payloads = {m: p for m, _, p in self.published}
        acks = [
            (self.connections, m, 0x87, "Not authorized")
            if refuse(payloads[m])
            else (self.connections, m, 0, "Success")
            for m in self.unacked
        ]
        self.unacked = []
        self.on_acks(acks)

    def drop(self) -> None:
        self.connected.clear()
        self.unacked = []
        self.on_disconnected()

    def reconnect(self) -> None:
        self.connections += 1
        self.connected.set()


def records(payload: str) -> list[dict[str, object]]:
    data = json.loads(payload)
    out: list[dict[str, object]] = data.get("records", [data])
    return out


@asynccontextmanager
async def drained(tmp: Path, link: FakeLink) -> AsyncIterator[tuple[Outbox, Drain]]:
    box = Outbox(
        OutboxSettings(tmp / "o.db", Budget(10**9, 10**6), commit_window_s=0.01),
        site="s",
        boot_id="b",
        clock=NowClock(),
    )
    drain = Drain(box, link, DrainSettings("p", "s"), clock=CLOCK)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(box.run()), asyncio.create_task(drain.run())]
    await box.ready.wait()
    try:
        yield box, drain
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await box.close()


async def until(cond: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Wait (bounded) for the drain and the database thread (real time) to get somewhere;
    meanwhile the drain's own waits (backoff) are stepped on the SimClock."""
    for _ in range(int(timeout_s / 0.005)):
        if cond():
            return
        CLOCK.advance_to_next()
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def settle(link: FakeLink, box: Outbox, timeout_s: float = 60.0) -> None:
    """Acknowledge everything, round after round, until the outbox is empty."""
    for _ in range(int(timeout_s / 0.005)):
        CLOCK.advance_to_next()
        link.ack_all()
        await box.flush()
        if sum(box.counts.values()) == 0 and not link.unacked:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("did not drain")


async def test_live_event_overtakes_backlog_and_order_holds(tmp_path: Path) -> None:
    link = FakeLink(window=10)
    async with drained(tmp_path, link) as (box, _):
        for i in range(300):
            box.offer("events/meter", {"i": i})
            box.offer("telemetry/site", {"i": i})
        await box.flush()
        link.connected.set()
        full = link.window
        await until(lambda: len(link.unacked) == full, "a full window")
        CLOCK.advance(60.0)  # the backlog is now a minute old; what comes next is live
        live = await box.accept("events/alarm", {"alarm": "door", "active": True, "message": ""})
        before = len(link.published)
        link.ack_all()
        await until(lambda: len(link.unacked) == full, "the next window")
        sent = [r["msg_id"] for _, _, p in link.published[before:] for r in records(p)]
        assert live in sent, "the live alarm went out in the very next window"
        assert sent.index(live) < 10  # ahead of the hundreds of backlog records still waiting
        await settle(link, box)
        meter = [
            r["payload"]["i"]
            for _, t, p in link.published
            if t == "p/events/meter"
            for r in records(p)
        ]
        tele = [
            r["payload"]["i"]
            for _, t, p in link.published
            if t == "p/telemetry/site"
            for r in records(p)
        ]
        assert meter == list(range(300))
        assert tele == list(range(300))
        ev = [n for n, (_, t, _) in enumerate(link.published) if "/events/" in t]
        assert max(ev[:300]) < len(link.published)  # events were not starved either


async def test_refused_kept_retried_then_dead_lettered_and_reconnect_resends(
    tmp_path: Path,
) -> None:
    link = FakeLink(window=5)
    async with drained(tmp_path, link) as (box, drain):
        for i in range(3):
            await box.accept("events/x", {"i": i})
        link.connected.set()

        def first(payload: str) -> bool:
            return bool(json.loads(payload)["payload"]["i"] == 0)

        for n in range(1, 4):  # 0x87 three times (with 1 s, 2 s backoff between): dead letter
            await until(lambda: bool(link.unacked), "a publish", 60)
            link.ack_all(refuse=first)
            await until(lambda n=n: drain.refused >= n, "the refusal")  # type: ignore[misc]
        await until(lambda: "buffer_dead_letter" in box.alarms.active, "dead letter", 60)
        sent = [r["payload"]["i"] for _, _, p in link.published for r in records(p)]
        assert sent.count(0) == 3  # resent, never deleted on a failure reason code
        assert sorted(set(sent)) == [0, 1, 2]
        await until(lambda: box.counts[MsgClass.EVENT] == 0, "outbox empty")
        link.drop()  # an outage: what is accepted meanwhile goes out after the reconnect
        await box.accept("events/x", {"i": 3})
        link.reconnect()
        await settle(link, box)
        last = [r["payload"]["i"] for _, _, p in link.published[-1:] for r in records(p)]
        assert last == [3]
