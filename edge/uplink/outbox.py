"""The durable outbox: accepted means committed; delivered rows are deleted after PUBACK.

Producers call `accept` (awaits the commit; events are committed with synchronous=FULL) or
`offer` (fire-and-forget, for telemetry: committed within `commit_window_s`). One writer
task group-commits whatever is pending (`group_commit`): an event cuts the window short,
so concurrent events share one fsync. A record's `seq` is taken from its stream's stored
counter once the file is open, never before, so seqs only grow across restarts. When the
store cannot take an event (disk full, read-only) it stays in a bounded memory spill, an
alarm is raised and the writer retries; nothing is dropped silently. A corrupt file is
quarantined and its readable rows replayed into a fresh one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edge.clock import Clock, SystemClock
from edge.uplink.alarms import Alarms
from edge.uplink.envelope import check_stream, new_msg_id
from edge.uplink.group_commit import (
    UNAVAILABLE_ALARM,
    GroupCommit,
    OutboxRefused,
    OutboxSpilled,
    Record,
)
from edge.uplink.outbox_db import Gone, NewRow, OutboxDb, OutRow
from edge.uplink.outbox_salvage import replace_and_salvage
from edge.uplink.policy import Budget, MsgClass, StoredRow, admits_telemetry
from edge.uplink.store_errors import StoreCorrupt, StoreError
from edge.uplink.store_thread import StoreThread
from edge.uplink.upkeep import Upkeep

__all__ = ["Outbox", "OutboxRefused", "OutboxSettings", "OutboxSpilled"]
log = logging.getLogger(__name__)
T = TypeVar("T")


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
    retry_s: float = 1.0  # a held spill or an unopenable file is retried this often


class Outbox(GroupCommit):
    def __init__(
        self,
        settings: OutboxSettings,
        *,
        site: str,
        boot_id: str,
        clock: Clock | None = None,
        alarms: Alarms | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.alarms = alarms or Alarms()
        super().__init__(site, boot_id, settings.spill_max, self.alarms)
        self.settings = settings
        self.db = OutboxDb(settings.path, max_pages=settings.max_pages)
        self.thread = StoreThread()
        self.ready = asyncio.Event()  # the file is open: reads and commits can go ahead
        self.generation = 0  # bumped when the file is replaced: readers reset their cursors
        self._stepping = asyncio.Lock()  # one group commit at a time (writer, flush)
        self._acked: list[int] = []
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()
        self._corrupt = False
        self.upkeep = Upkeep(
            settings.budget,
            clock=self.clock,
            alarms=self.alarms,
            counters=self.counters,
            relief_rows=settings.relief_rows,
            telemetry_ttl_s=settings.telemetry_ttl_s,
        )
        self.rescan = True  # the drain should list every stream again (open, replaced file)

    # --- producers -------------------------------------------------------------------
    def offer(self, stream: str, payload: Any) -> None:
        """Queue a record without waiting (telemetry, state). Never raises for a full store."""
        row = self._row(stream, payload)
        if row.cls is MsgClass.TELEMETRY:
            # Before the file opens a record has no size yet: the budget checks it later.
            if isinstance(row, NewRow) and not admits_telemetry(
                row.size, self.usage, self.settings.budget
            ):
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

    def _row(self, stream: str, payload: Any, msg_id: str | None = None) -> Record:
        check_stream(stream)
        return self.record(stream, payload, msg_id or new_msg_id(), self.clock.wall())

    # --- the drain and upkeep ----------------------------------------------------------
    def ack(self, ids: Iterable[int]) -> None:
        """Rows whose PUBACK said success: deleted with the next group commit."""
        self._acked.extend(ids)
        self._wake.set()

    async def read(self, cls: MsgClass, after_id: int, limit: int) -> list[OutRow]:
        return await self._reading(self.db.read, cls, after_id, limit)

    async def read_stream(self, stream: str, after_id: int, limit: int) -> list[OutRow]:
        return await self._reading(self.db.read_stream, stream, after_id, limit)

    async def stream_names(self) -> list[str]:
        return await self._reading(self.db.stream_names)

    async def oldest_telemetry(self, limit: int) -> list[StoredRow]:
        return await self.thread.run(self.db.oldest_telemetry, limit)

    async def remove(self, ids: list[int]) -> int:
        gone = await self.thread.run(self.db.delete, ids) if ids else []
        self.removed(gone)
        return sum(n for _, n, _ in gone)

    async def commit_rows(self, rows: list[NewRow], durable: bool) -> Gone:
        return await self.thread.run(functools.partial(self.db.commit, rows, durable=durable))

    async def relieve(self) -> bool:
        return await self.upkeep.emergency_relief(self)

    async def _reading(self, query: Callable[..., list[T]], *args: Any) -> list[T]:
        """Reads see committed rows only: each transaction is one call on the thread."""
        if not self.ready.is_set():
            return []
        try:
            return await self.thread.run(query, *args)
        except StoreCorrupt as exc:
            self._flag_corrupt(exc)
        except StoreError as exc:
            log.warning("outbox_read_failed error=%s", exc)
        return []

    async def dead_letter(self, row: OutRow, why: str) -> None:
        if not await self.thread.run(self.db.dead_letter, row, why):
            return
        self.removed([(int(row.cls), 1, row.size)])
        self.alarms.raise_("buffer_dead_letter", f"message {row.id} refused by broker: {why}")

    def _flag_corrupt(self, exc: Exception) -> None:
        log.error("outbox_corrupt error=%s", exc)
        self._corrupt = True
        self._wake.set()
        self._urgent.set()

    # --- the writer task -----------------------------------------------------------------
    async def run(self) -> None:
        await self.step()  # opens the file; commits what was offered before
        while True:
            if self._spill or not self.ready.is_set():  # retry even if nothing new comes
                await self._until(self._wake, self.settings.retry_s)
            else:
                await self._wake.wait()
            if not self._urgent.is_set():  # telemetry may wait a bounded window to batch
                await self._until(self._urgent, self.settings.commit_window_s)
            self._wake.clear()
            self._urgent.clear()
            await self.step()

    async def _until(self, event: asyncio.Event, seconds: float) -> None:
        """Until `event` is set or `seconds` of the clock have passed."""
        waits = {
            asyncio.ensure_future(event.wait()),
            asyncio.ensure_future(self.clock.sleep(seconds)),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()

    async def step(self) -> None:
        """One group commit: (re)open if needed, inserts, deletes, keeping to the budget."""
        async with self._stepping:
            if self._corrupt:
                await self._replace_file("corrupt during operation")
            if not self.ready.is_set() and not await self._open():  # held until it opens
                self.hold(self._spill + self._pending, UNAVAILABLE_ALARM, self._why)
                self._pending = []
                return
            try:
                await self.commit_pending()  # first: producers of events are waiting
                await self._delete_acked()
                await self.upkeep.keep_budget(self)
                await self.upkeep.expire(self)
            except StoreCorrupt as exc:
                self._flag_corrupt(exc)
            except StoreError as exc:  # full or read-only: the next step retries
                log.debug("outbox_upkeep_deferred error=%s", exc)

    async def flush(self) -> None:
        """Commit everything pending now (shutdown); bounded by the caller's timeout."""
        if self.ready.is_set() and (self._pending or self._acked or self._spill):
            await self.step()

    async def close(self, timeout_s: float = 1.0) -> None:
        """Close the file; bounded, and the store thread never keeps the process alive."""
        self.ready.clear()
        with contextlib.suppress(TimeoutError, StoreError, RuntimeError):
            await asyncio.wait_for(self.thread.run(self.db.close), timeout_s)
        self.thread.stop()

    async def _open(self) -> bool:
        try:
            await self.thread.run(self.db.open)
            await self._load()
        except StoreCorrupt as exc:
            log.error("outbox_corrupt_at_open error=%s", exc)
            if not await self._replace_file(str(exc)):
                return False
        except StoreError as exc:
            self._why = str(exc)
            return False
        self.alarms.clear("buffer_unavailable")
        self.rescan = True  # everything on file is new to the drain
        self.ready.set()
        self.committed.set()
        log.info("outbox_open path=%s rows=%d", self.settings.path, sum(self.counts.values()))
        return True

    async def _load(self) -> None:
        seqs, self.usage, counts = await self.thread.run(self.db.load)
        self.counts.update(counts)
        self.load_counters(seqs)

    async def _delete_acked(self) -> None:
        if self._acked:
            acked, self._acked = self._acked, []
            try:
                self.removed(await self.thread.run(self.db.delete, acked))
            except StoreError:
                self._acked = acked + self._acked  # deleted by a later step
                raise

    async def _replace_file(self, why: str) -> bool:
        """Quarantine the file, start a fresh one and replay what can be read from it.
        False when that failed too (full or read-only disk): the writer retries."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.clock.wall()))
        self.ready.clear()
        try:
            target, rows = await self.thread.run(replace_and_salvage, self.db, stamp)
            await self._load()
        except (StoreError, OSError) as exc:
            self._why = f"quarantine failed: {exc}"
            log.debug("outbox_quarantine_failed error=%s", exc)  # the alarm tells, once
            return False
        for r in rows:
            self.seqs[r.stream] = max(self.seqs.get(r.stream, 1), r.seq + 1)
        self.ready.set()
        self.alarms.raise_("buffer_corrupt", f"{why}; quarantined as {target.name}")
        self.generation += 1
        self.rescan = True
        self._corrupt = False
        self.counters["salvaged"] += len(rows)
        log.warning("outbox_replaced quarantined=%s salvaged=%d", target, len(rows))
        self.committed.set()
        return True
