"""The drain: outbox rows -> QoS 1 publishes, pipelined, in order per stream.

While the link is up: read ahead from the outbox per class, pick what goes next (pure
rules in `ordering`), keep up to `link.window` messages in flight, and hand rows whose
PUBACK succeeded back to the outbox for deletion. A refused PUBACK (failure reason code)
deletes nothing: the drain re-reads from the oldest undelivered row, so the stream is
resent in order (duplicates, never gaps); a row refused `max_failures` times is moved to
the dead-letter table with an alarm so one poison message cannot block its stream.
On every new connection reading restarts from the oldest undelivered row.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from dataclasses import dataclass

from edge.clock import Clock, SystemClock
from edge.uplink.envelope import batch_json, topic
from edge.uplink.mqtt_adapter import Ack, MqttLink
from edge.uplink.ordering import (
    Head,
    batch_size,
    bucket,
    pick_class,
    pick_stream,
    refusal_backoff_s,
    refusal_is_permanent,
)
from edge.uplink.outbox import Outbox
from edge.uplink.outbox_db import OutRow
from edge.uplink.policy import MsgClass, class_of

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DrainSettings:
    prefix: str
    site: str
    batch_max: int = 50
    batch_bytes: int = 64 * 1024  # well under common cloud limits (AWS IoT: 128 KB)
    rate_msg_s: float = 0.0  # 0: no cap
    read_ahead: int = 500
    live_s: float = 5.0
    max_failures: int = 3


class Drain:
    def __init__(
        self,
        outbox: Outbox,
        link: MqttLink,
        settings: DrainSettings,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.s = settings
        self.clock = clock or SystemClock()
        self._mono = self.clock.monotonic
        self._wall = self.clock.wall
        self._wake = outbox.committed  # commits, PUBACKs and disconnects all wake the drain
        link.on_acks = self.handle_acks
        link.on_disconnected = self._wake.set
        self._queues: dict[MsgClass, dict[str, collections.deque[OutRow]]] = {}
        self._queued: dict[MsgClass, int] = {}
        self._cursor: dict[str, int] = {}  # per stream: last id read
        self._more: set[str] = set()  # streams that may have rows not read yet
        self._inflight: dict[int, list[OutRow]] = {}
        self._failures: collections.Counter[int] = collections.Counter()
        self._dead: list[list[OutRow]] = []
        self._resync = False
        self._pause_s = 0.0
        self._conn = 0
        self._gen = -1
        self._streak = 0
        self._bucket = bucket(settings.rate_msg_s, self._mono())
        self._rate_timer = False
        self._timer: asyncio.Future[None] | None = None  # holds the rate wake-up task
        self.sent_msgs = 0
        self.sent_records = 0
        self.refused = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque(maxlen=30)
        self._reset()

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    async def run(self) -> None:
        await self.outbox.ready.wait()
        while True:
            await self.link.connected.wait()
            self._conn = self.link.connections
            self._inflight.clear()  # a new connection: old mids mean nothing any more
            await self._restart_reading()
            while self.link.connected.is_set() and self.link.connections == self._conn:
                if self._resync or self._gen != self.outbox.generation:
                    if self._pause_s:  # the broker refused: do not hammer it
                        await self.clock.sleep(self._pause_s)
                        self._pause_s = 0.0
                    await self._restart_reading()
                await self._fill()
                await self._wake.wait()
                self._wake.clear()

    def _reset(self) -> None:
        self._queues = {c: {} for c in MsgClass}
        self._queued = dict.fromkeys(MsgClass, 0)
        self._cursor = {}
        self._more = set()
        self.outbox.rescan = True
        self._streak = 0

    async def _restart_reading(self) -> None:
        """Start over from the oldest undelivered row (after deletes are committed, so rows
        already acknowledged are not sent again)."""
        for rows in self._dead:
            for row in rows:
                await self.outbox.dead_letter(row, "refused by the broker repeatedly")
        self._dead.clear()
        await self.outbox.flush()
        self._reset()  # rows still in flight stay tracked: their PUBACKs still delete them
        self._gen = self.outbox.generation
        self._resync = False

    async def _fill(self) -> None:
        """Publish until the window is full or nothing is left to send."""
        if self.outbox.rescan:
            self.outbox.rescan = False
            self._more |= set(await self.outbox.stream_names())
        while len(self._inflight) < self.link.window and not self._resync:
            if self.outbox.fresh:  # checked per message: reads let acks refill the window
                fresh, self.outbox.fresh = self.outbox.fresh, set()
                self._more |= fresh
                await self._refill(fresh)  # live rows of an idle stream overtake the backlog
            ready = {c: n > 0 for c, n in self._queued.items()}
            cls = pick_class(ready, self._streak)
            if cls is None:
                if not await self._refill(self._more):
                    return
                continue
            if not self._rate_ok():
                return
            if not self._send(cls):
                return
            waiting = ready[MsgClass.TELEMETRY] and cls is not MsgClass.TELEMETRY
            self._streak = self._streak + 1 if waiting else 0

    async def _refill(self, streams: set[str]) -> bool:
        """Read the next page of each given stream whose queue is empty."""
        got = False
        for stream in sorted(streams & self._more):
            cls = class_of(stream)
            if self._queues[cls].get(stream):
                continue
            rows = await self.outbox.read_stream(
                stream, self._cursor.get(stream, 0), self.s.read_ahead
            )
            if len(rows) < self.s.read_ahead:
                self._more.discard(stream)
            if rows:
                self._queues[cls].setdefault(stream, collections.deque()).extend(rows)
                self._cursor[stream] = rows[-1].id
                self._queued[cls] += len(rows)
                got = True
        return got and self.link.connected.is_set()

    def _rate_ok(self) -> bool:
        self._bucket, wait = self._bucket.take(self._mono())
        if wait > 0 and not self._rate_timer:
            self._rate_timer = True
            self._timer = asyncio.ensure_future(self._rate_wake(wait))
        return wait == 0

    async def _rate_wake(self, wait_s: float) -> None:
        await self.clock.sleep(wait_s)
        self._rate_timer = False
        self._wake.set()

    def _send(self, cls: MsgClass) -> bool:
        streams = self._queues[cls]
        waiting = [s for s, q in streams.items() if q]
        stream: str | None = waiting[0]  # the class was ready; one stream: nothing to pick
        if len(waiting) > 1:
            heads = {s: Head(streams[s][0].id, streams[s][0].created) for s in waiting}
            stream = pick_stream(heads, self._wall(), self.s.live_s)
        assert stream is not None
        q = streams[stream]
        n = 1
        if cls is MsgClass.TELEMETRY:
            sizes = [r.size for r in itertools.islice(q, self.s.batch_max)]
            n = batch_size(sizes, self.s.batch_max, self.s.batch_bytes)
        rows = [q.popleft() for _ in range(n)]
        if cls is MsgClass.TELEMETRY:
            payload = batch_json(self.s.site, stream, [r.body for r in rows])
        else:
            payload = rows[0].body
        mid = self.link.publish(topic(self.s.prefix, stream), payload, retain=cls is MsgClass.STATE)
        if mid is None:  # the link just went down: keep the rows for the next connection
            q.extendleft(reversed(rows))
            return False
        self._queued[cls] -= n
        self._inflight[mid] = rows
        return True

    def handle_acks(self, acks: list[Ack]) -> None:
        """PUBACKs from the link (on the event loop): success deletes, failure resends."""
        ok: list[int] = []
        for conn, mid, code, reason in acks:
            rows = self._inflight.pop(mid, None) if conn == self._conn else None
            if rows is None:
                continue
            if code < 0x80:  # success, including 0x10 "no matching subscribers"
                ok.extend(r.id for r in rows)
                self.sent_msgs += 1
                self.sent_records += len(rows)
            else:
                self._on_refused(rows, code, reason)
        if ok:
            self.outbox.ack(ok)
        now = self._mono()
        if not self._samples or now - self._samples[-1][0] >= 1.0:
            self._samples.append((now, self.sent_records))
        self._wake.set()

    def _on_refused(self, rows: list[OutRow], code: int, reason: str) -> None:
        self.refused += 1
        first = rows[0]
        self._failures[first.id] += 1
        failures = self._failures[first.id]
        if failures == 1:
            log.warning(
                "uplink_puback_refused stream=%s id=%d reason=%s", first.stream, first.id, reason
            )
        if refusal_is_permanent(code) and failures >= self.s.max_failures:
            del self._failures[first.id]
            self._dead.append(rows)
        self._resync = True
        self._pause_s = max(self._pause_s, refusal_backoff_s(failures))

    def send_rate(self) -> float:
        """Records per second over the last ~30 s of acknowledgements."""
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
