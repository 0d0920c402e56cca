"""The outbox writer's commit path: seqs, group commits, the memory spill and accounting.

A record is a `Draft` until its stream's stored counter is known (the file is open); then
it is sealed into a `NewRow` with the next seq. Seqs are issued from the counter loaded
from the file (and never lowered), so a record offered before the file opened, or after
a quarantine, cannot take a seq the stream already used. A batch that the store refuses
is committed as long a prefix as fits; the rest is held in memory: events and state in
the spill (retried), telemetry dropped and counted.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.uplink.alarms import Alarms
from edge.uplink.envelope import record_json
from edge.uplink.outbox_db import Gone, NewRow
from edge.uplink.policy import MsgClass, Usage, class_of, usage_change
from edge.uplink.store_errors import StoreFull, StoreUnavailable

log = logging.getLogger(__name__)


class OutboxRefused(Exception):
    """The event could not even be held in memory: the caller must keep it or alarm."""


class OutboxSpilled(Exception):
    """Held in memory only (the store is full or broken); retried, not yet durable."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A record waiting for its seq (the stream's stored counter is not known yet)."""

    stream: str
    cls: MsgClass
    wall: float
    payload: Any
    msg_id: str


Record = NewRow | Draft
Pending = tuple[Record, "asyncio.Future[None] | None"]
FULL_ALARM = "buffer_disk_full"
UNAVAILABLE_ALARM = "buffer_unavailable"
STORE_ALARMS = (UNAVAILABLE_ALARM, FULL_ALARM, "buffer_refusing")


class GroupCommit(ABC):
    def __init__(self, site: str, boot_id: str, spill_max: int, alarms: Alarms) -> None:
        self.site, self.boot_id = site, boot_id
        self.spill_max = spill_max
        self.alarms = alarms
        self.usage = Usage()
        self.counts: dict[MsgClass, int] = dict.fromkeys(MsgClass, 0)
        self.counters: Counter[str] = Counter()
        self.seqs: dict[str, int] = {}  # next seq per stream, valid once `counted`
        self.counted = False
        self.committed = asyncio.Event()  # set after each commit that added rows
        self.fresh: set[str] = set()  # streams with rows committed since the drain looked
        self._pending: list[Pending] = []
        self._spill: list[Pending] = []
        self._why = ""

    @abstractmethod
    async def commit_rows(self, rows: list[NewRow], durable: bool) -> Gone: ...

    @abstractmethod
    async def relieve(self) -> bool:
        """Free room on a full store; False when nothing could be freed."""

    def load_counters(self, stored: dict[str, int]) -> None:
        """The file's counters: seqs continue from them (never go back)."""
        for stream, nxt in stored.items():
            self.seqs[stream] = max(nxt, self.seqs.get(stream, 1))
        self.counted = True

    def record(self, stream: str, payload: Any, msg_id: str, wall: float) -> Record:
        """A record for `stream`: sealed with its seq at once when the counters are known."""
        draft = Draft(stream, class_of(stream), wall, payload, msg_id)
        return self.seal(draft) if self.counted else draft

    def body(self, draft: Draft, seq: int) -> str:
        return record_json(
            site=self.site,
            stream=draft.stream,
            seq=seq,
            boot_id=self.boot_id,
            wall=draft.wall,
            cls=draft.cls,
            payload=draft.payload,
            msg_id=draft.msg_id,
        )

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def spilled(self) -> int:
        return len(self._spill)

    @property
    def fault(self) -> str | None:
        """Why the store is not taking records now (None: it is)."""
        for name in STORE_ALARMS:
            if name in self.alarms.active:
                return f"{name}: {self.alarms.active[name]}"
        return None

    def seal(self, draft: Draft) -> NewRow:
        seq = self.seqs.get(draft.stream, 1)
        self.seqs[draft.stream] = seq + 1
        return NewRow(draft.stream, seq, draft.cls, draft.wall, self.body(draft, seq))

    async def commit_pending(self) -> None:
        batch = [(self.seal(r) if isinstance(r, Draft) else r, f) for r, f in self._spill]
        batch += [(self.seal(r) if isinstance(r, Draft) else r, f) for r, f in self._pending]
        self._spill, self._pending = [], []
        if not batch:
            return
        try:
            done, alarm = await self._commit_prefix([r for r, _ in batch])
        except BaseException:
            self._spill = batch + self._spill  # replayed into a fresh file, or at shutdown
            raise
        if done < len(batch):
            self.hold(batch[done:], alarm, self._why)
        for _, fut in batch[:done]:
            if fut is not None and not fut.done():
                fut.set_result(None)
        if done == len(batch):
            self.alarms.clear(FULL_ALARM)
            self.alarms.clear(UNAVAILABLE_ALARM)

    async def _commit_prefix(self, rows: list[NewRow]) -> tuple[int, str]:
        """Commit as long a prefix of `rows` as fits (order kept): how many were committed
        and, when not all, the alarm to raise. A full store first gets telemetry evicted,
        then the batch is halved (bounded: log2 of its length)."""
        relieved = False
        done = 0
        while done < len(rows):
            part = rows[done:]
            while part:
                durable = any(r.cls is not MsgClass.TELEMETRY for r in part)
                try:
                    gone = await self.commit_rows(part, durable)
                except StoreUnavailable as exc:
                    self._why = str(exc)
                    return done, UNAVAILABLE_ALARM
                except StoreFull as exc:
                    self._why = str(exc)
                    if not relieved:
                        relieved = True
                        if await self._relieve_safely():
                            continue
                    if len(part) == 1:
                        return done, FULL_ALARM
                    part = part[: len(part) // 2]
                    continue
                self._added(part, gone)
                done += len(part)
                break
        return done, ""

    async def _relieve_safely(self) -> bool:
        """On a full disk even a DELETE may fail: that is no relief, not a crash."""
        try:
            return await self.relieve()
        except (StoreFull, StoreUnavailable) as exc:
            held = FULL_ALARM in self.alarms.active  # log the transition, not every retry
            log.log(
                logging.DEBUG if held else logging.WARNING, "outbox_relief_failed error=%s", exc
            )
            return False

    def hold(self, batch: Sequence[Pending], alarm: str, why: str) -> None:
        """Keep events and state in memory for a retry; telemetry is dropped, counted."""
        keep = [(r, f) for r, f in batch if r.cls is not MsgClass.TELEMETRY]
        self.counters["dropped_disk_full"] += len(batch) - len(keep)
        self._spill = list(keep[: self.spill_max])
        refused = keep[self.spill_max :]
        self.alarms.raise_(alarm, f"{why}; {len(self._spill)} event(s) in memory")
        if refused:  # beyond the memory bound: refused loudly, never silently
            self.counters["refused_spill_full"] += len(refused)
            self.alarms.raise_("buffer_refusing", f"{len(refused)} event(s) refused: spill full")
            log.error("outbox_refused events=%d why=%s", len(refused), why)
        refused_futs = {id(f) for _, f in refused}
        for _, fut in batch:
            if fut is not None and not fut.done():
                err = OutboxRefused(why) if id(fut) in refused_futs else OutboxSpilled(why)
                fut.set_exception(err)

    def _added(self, rows: list[NewRow], gone: Gone) -> None:
        for r in rows:
            self.counts[r.cls] += 1
        self.usage = usage_change(self.usage, ((int(r.cls), r.size) for r in rows), 1)
        self.counters["accepted"] += len(rows)
        self.fresh.update(r.stream for r in rows)
        self.removed(gone)
        self.counters["superseded"] += sum(n for _, n, _ in gone)
        self.committed.set()

    def removed(self, gone: Gone) -> None:
        for cls, n, _ in gone:
            self.counts[MsgClass(cls)] -= n
        self.usage = usage_change(self.usage, ((c, b) for c, _, b in gone), -1)
