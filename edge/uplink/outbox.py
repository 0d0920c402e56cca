"""The durable outbox: accepted means committed; delivered rows are deleted after PUBACK.

Producers call `accept` (awaits the commit; events are committed with synchronous=FULL) or
`offer` (fire-and-forget, for telemetry: committed within `commit_window_s`). One writer
task group-commits whatever is pending: an event cuts the window short, so concurrent
events share one fsync. When the store cannot take an event (disk full) it stays in a
bounded memory spill, an alarm is raised, and the writer retries; nothing is dropped
silently. A corrupt file is quarantined and its readable rows replayed into a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge.uplink.alarms import Alarms
from edge.uplink.envelope import check_stream, new_msg_id, record_json
from edge.uplink.outbox_db import NewRow, OutboxDb, OutRow, StoreCorrupt, StoreFull, next_seqs
from edge.uplink.policy import (
    Budget,
    MsgClass,
    Usage,
    admits_telemetry,
    class_of,
    usage_change,
)
from edge.uplink.upkeep import Upkeep

log = logging.getLogger(__name__)
T = TypeVar("T")
Pending = tuple[NewRow, "asyncio.Future[None] | None"]


class OutboxRefused(Exception):
    """The event could not even be held in memory: the caller must keep it or alarm."""


class OutboxSpilled(Exception):
    """Held in memory only (the store is full or broken); retried, not yet durable."""


@dataclass(frozen=True, slots=True)
class OutboxSettings:
    path: Path
    budget: Budget
    telemetry_ttl_s: float | None = 7 * 86400.0
    commit_window_s: float = 0.2
    spill_max: int = 10_000
    pending_max: int = 100_000
    relief_rows: int = 5_000
    max_pages: int | None = None


class Outbox:
    def __init__(
        self,
        settings: OutboxSettings,
        *,
        site: str,
        boot_id: str,
        wall: Callable[[], float] = time.time,
        alarms: Alarms | None = None,
    ) -> None:
        self.settings = settings
        self.site = site
        self.boot_id = boot_id
        self.wall = wall
        self.alarms = alarms or Alarms()
        self.db = OutboxDb(settings.path, max_pages=settings.max_pages)
        self.lock = asyncio.Lock()  # one transaction at a time on the one connection
        self.ready = asyncio.Event()
        self.committed = asyncio.Event()  # set after each commit that added rows
        self.usage = Usage()
        self.counts: dict[MsgClass, int] = dict.fromkeys(MsgClass, 0)
        self.counters: Counter[str] = Counter()
        self.generation = 0  # bumped when the file is replaced: readers reset their cursors
        self._seqs: dict[str, int] = {}
        self._pending: list[Pending] = []
        self._spill: list[Pending] = []
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._corrupt = False
        self.upkeep = Upkeep()
        self.fresh: set[str] = set()  # streams with rows committed since the drain last looked
        self.rescan = True  # the drain should list every stream again (open, replaced file)

    # --- producers -------------------------------------------------------------------
    def offer(self, stream: str, payload: Any) -> None:
        """Queue a record without waiting (telemetry, state). Never raises for a full store."""
        row = self._row(stream, payload)
        if row.cls is MsgClass.TELEMETRY:
            if not admits_telemetry(row.size, self.usage, self.settings.budget):
                self.counters["dropped_too_big"] += 1
                return
            if len(self._pending) >= self.settings.pending_max:
                self.counters["dropped_backpressure"] += 1
                return
        self._pending.append((row, None))
        self._wake.set()
        if row.cls is not MsgClass.TELEMETRY:
            self._urgent.set()

    async def accept(self, stream: str, payload: Any) -> str:
        """Commit one record durably; its msg_id once committed. OutboxSpilled: held in
        memory and retried (alarm raised); OutboxRefused: not even that."""
        if len(self._spill) >= self.settings.spill_max:
            self.alarms.raise_("buffer_refusing", "outbox full and memory spill full")
            raise OutboxRefused(f"outbox: memory spill full ({self.settings.spill_max} held)")
        msg_id = new_msg_id()
        row = self._row(stream, payload, msg_id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, done))
        self._wake.set()
        self._urgent.set()
        await done
        return msg_id

    def _row(self, stream: str, payload: Any, msg_id: str | None = None) -> NewRow:
        check_stream(stream)
        cls = class_of(stream)
        seq = self._seqs.get(stream, 1)
        self._seqs[stream] = seq + 1
        wall = self.wall()
        body = record_json(
            site=self.site,
            stream=stream,
            seq=seq,
            boot_id=self.boot_id,
            wall=wall,
            cls=cls,
            payload=payload,
            msg_id=msg_id,
        )
        return NewRow(stream, seq, cls, wall, body)

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def spilled(self) -> int:
        return len(self._spill)

    # --- the drain ---------------------------------------------------------------------
    def ack(self, ids: Iterable[int]) -> None:
        """Rows whose PUBACK said success: deleted with the next group commit."""
        self._acked.extend(ids)
        self._wake.set()

    async def read(self, cls: MsgClass, after_id: int, limit: int) -> list[OutRow]:
        return await self._reading(lambda: self.db.read(cls, after_id, limit))

    async def read_stream(self, stream: str, after_id: int, limit: int) -> list[OutRow]:
        return await self._reading(lambda: self.db.read_stream(stream, after_id, limit))

    async def stream_names(self) -> list[str]:
        return await self._reading(self.db.stream_names)

    async def _reading(self, query: Callable[[], Awaitable[list[T]]]) -> list[T]:
        """Reads see committed rows only (the lock keeps them out of open transactions)."""
        if not self.ready.is_set():
            return []
        try:
            async with self.lock:
                return await query()
        except StoreCorrupt as exc:
            self._flag_corrupt(exc)
            return []

    async def dead_letter(self, row: OutRow, why: str) -> None:
        async with self.lock:
            moved = await self.db.dead_letter(row, why)
        if not moved:
            return
        self.removed([(int(row.cls), row.size)])
        self.alarms.raise_("buffer_dead_letter", f"message {row.id} refused by broker: {why}")

    def _flag_corrupt(self, exc: Exception) -> None:
        log.error("outbox_corrupt error=%s", exc)
        self._corrupt = True
        self._wake.set()
        self._urgent.set()

    # --- the writer task -----------------------------------------------------------------
    async def run(self) -> None:
        await self._open()
        while True:
            await self._wake.wait()
            if not self._urgent.is_set():  # telemetry may wait a bounded window to batch
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._urgent.wait(), self.settings.commit_window_s)
            self._wake.clear()
            self._urgent.clear()
            await self.step()
            if self._spill:  # retry the spill later even if nothing new arrives
                asyncio.get_running_loop().call_later(1.0, self._wake.set)

    async def step(self) -> None:
        """One group commit: deletes, inserts, then keeping to the budget."""
        if self._corrupt:
            await self._replace_file("corrupt during operation")
        try:
            async with self.lock:
                await self._commit_pending()  # first: producers of events are waiting
                await self._delete_acked()
                await self._housekeep()
        except StoreCorrupt as exc:
            self._flag_corrupt(exc)
            self._wake.set()

    async def flush(self) -> None:
        """Commit everything pending now (shutdown); bounded by the caller's timeout."""
        if self.ready.is_set() and (self._pending or self._acked or self._spill):
            await self.step()

    async def close(self) -> None:
        self.ready.clear()
        async with self.lock:
            await self.db.close()

    async def _open(self) -> None:
        try:
            async with self.lock:
                await self.db.open()
        except StoreCorrupt as exc:
            log.error("outbox_corrupt_at_open error=%s", exc)
            await self._replace_file(str(exc))
        async with self.lock:
            await self._load()
        self.rescan = True  # everything on file is new to the drain
        self.ready.set()
        self.committed.set()
        log.info("outbox_open path=%s rows=%d", self.settings.path, sum(self.counts.values()))

    async def _load(self) -> None:
        seqs, self.usage, self.counts = await self.db.load()
        for stream, nxt in seqs.items():  # what producers took before open still counts
            self._seqs[stream] = max(nxt, self._seqs.get(stream, 1))

    async def _delete_acked(self) -> None:
        if self._acked:
            acked, self._acked = self._acked, []
            self.removed(await self.db.delete(acked))

    async def _commit_pending(self) -> None:
        batch = self._spill + self._pending
        self._spill, self._pending = [], []
        if not batch:
            return
        rows = [r for r, _ in batch]
        try:
            done = await self._commit_prefix(rows)
        except StoreCorrupt:
            self._spill = batch + self._spill  # replayed into the fresh file
            raise
        if done < len(batch):
            self._hold(batch[done:], "outbox: disk or page budget full")
        for _, fut in batch[:done]:
            if fut is not None and not fut.done():
                fut.set_result(None)
        if done == len(batch):
            self.alarms.clear("buffer_disk_full")

    async def _commit_prefix(self, rows: list[NewRow]) -> int:
        """Commit as long a prefix of `rows` as fits (order kept); how many were committed.
        A full store first gets telemetry evicted, then the batch is halved (bounded)."""
        relieved = False
        done = 0
        while done < len(rows):
            part = rows[done:]
            while part:
                try:
                    gone = await self.db.commit(part, next_seqs(part), durable=_durable(part))
                except StoreFull:
                    if not relieved:
                        relieved = True
                        if await self._emergency_relief():
                            continue
                    if len(part) == 1:
                        return done
                    part = part[: len(part) // 2]
                    continue
                self._added(part, gone)
                done += len(part)
                break
        return done

    def _hold(self, batch: list[Pending], why: str) -> None:
        """Keep events and state in memory for a retry; telemetry is dropped, counted."""
        keep = [(r, f) for r, f in batch if r.cls is not MsgClass.TELEMETRY]
        self.counters["dropped_disk_full"] += len(batch) - len(keep)
        self._spill = keep[: self.settings.spill_max]
        refused = keep[self.settings.spill_max :]
        self.alarms.raise_("buffer_disk_full", f"{why}; {len(self._spill)} event(s) in memory")
        if refused:  # beyond the memory bound: refused loudly, never silently
            self.counters["refused_spill_full"] += len(refused)
            self.alarms.raise_("buffer_refusing", f"{len(refused)} event(s) refused: spill full")
            log.error("outbox_refused events=%d why=%s", len(refused), why)
        for row, fut in batch:
            if fut is not None and not fut.done():
                err = OutboxRefused(why) if (row, fut) in refused else OutboxSpilled(why)
                fut.set_exception(err)

    def _added(self, rows: list[NewRow], gone: list[tuple[int, int]]) -> None:
        for r in rows:
            self.counts[r.cls] += 1
        self.usage = usage_change(self.usage, ((int(r.cls), r.size) for r in rows), 1)
        self.counters["accepted"] += len(rows)
        self.fresh.update(r.stream for r in rows)
        self.removed(gone)
        self.counters["superseded"] += len(gone)
        self.committed.set()

    def removed(self, gone: list[tuple[int, int]]) -> None:
        for cls, _ in gone:
            self.counts[MsgClass(cls)] -= 1
        self.usage = usage_change(self.usage, gone, -1)

    async def _housekeep(self) -> None:
        await self.upkeep.keep_budget(self)
        await self.upkeep.expire(self)

    async def _emergency_relief(self) -> bool:
        return await self.upkeep.emergency_relief(self)

    async def _replace_file(self, why: str) -> None:
        """Quarantine the file, start a fresh one and replay what can be read from it."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        async with self.lock:
            target, rows = await self.db.replace_and_salvage(stamp)
            self.alarms.raise_("buffer_corrupt", f"{why}; quarantined as {target.name}")
            for r in rows:
                self._seqs[r.stream] = max(self._seqs.get(r.stream, 1), r.seq + 1)
            await self._load()
        self.generation += 1
        self.rescan = True
        self._corrupt = False
        self.counters["salvaged"] += len(rows)
        log.warning("outbox_replaced quarantined=%s salvaged=%d", target, len(rows))
        self.committed.set()


def _durable(rows: list[NewRow]) -> bool:
    return any(r.cls is not MsgClass.TELEMETRY for r in rows)
