"""The bookings owner's events, from the local store to the uplink's outbox: at least once.

Each change of a booking, assignment or audit entry is stored in one transaction with the
rows its events are made from (`booking_events`, `assignments`, `audit`; migration 4), so a
crash at any moment leaves either the change with its events or neither. This relay reads
those rows past its cursor per source, hands them to the outbox with `accept` (durable once
it returns), then moves the cursor. A crash between the two sends a row again (the cloud
deduplicates by the audit entry's seq and hash, the booking's id and version); a row is
never skipped. Admission events are made from the gate's `admission` audit entries.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from edge.booking_wire import iso
from edge.clock import Clock
from edge.gates.store_audit import admission_event
from edge.store import audit_rows
from edge.store.local_store import LocalStore, Params

log = logging.getLogger(__name__)

Accept = Callable[[str, Any], Awaitable[str]]  # Outbox.accept: returns once committed
Offer = Callable[[str, Any], None]  # Outbox.offer
BATCH = 100  # rows per source per pass: one group commit in the outbox
RETRY_S = 5.0  # after the store or the outbox refused
Events = list[tuple[int, list[tuple[str, dict[str, Any]]]]]  # (row id, [(stream, payload)])


async def _booking_events(store: LocalStore, after: int) -> Events:
    sql = "SELECT id, payload FROM booking_events WHERE id > ? ORDER BY id LIMIT ?"
    rows = await store.read(sql, (after, BATCH))
    return [(int(i), [("events/booking", json.loads(p))]) for i, p in rows]


async def _assignments(store: LocalStore, after: int) -> Events:
    sql = "SELECT id, booking, from_bay, to_bay, reason, at FROM assignments WHERE id > ? "
    rows = await store.read(sql + "ORDER BY id LIMIT ?", (after, BATCH))
    return [
        (int(i), [("events/assignment", {"booking": b, "from_bay": f, "to_bay": t,
                                          "reason": r, "at": iso(float(at))})])
        for i, b, f, t, r, at in rows
    ]  # fmt: skip


async def _audit(store: LocalStore, after: int) -> Events:
    out: Events = []
    for entry in await audit_rows.read(store, after, BATCH):
        events = [("events/audit", audit_rows.wire(entry))]
        if entry.kind == "admission":
            fields = {k: str(v) for k, v in entry.detail.items()}
            events.insert(0, ("events/admission", admission_event(fields)))
        out.append((entry.seq, events))
    return out


SOURCES: dict[str, Callable[[LocalStore, int], Awaitable[Events]]] = {
    "booking_events": _booking_events,
    "assignments": _assignments,
    "audit": _audit,
}


class EventRelay:
    def __init__(self, store: LocalStore, accept: Accept, offer: Offer, clock: Clock) -> None:
        self.store, self.accept, self.offer_now, self.clock = store, accept, offer, clock
        self._wake = asyncio.Event()
        self.relayed = 0

    def wake(self) -> None:
        self._wake.set()

    def offer(self, stream: str, payload: dict[str, Any]) -> None:
        """An event whose change could not be stored (store down): straight to the outbox."""
        self.offer_now(stream, payload)

    async def run(self) -> None:
        """Supervised task: a pass at start (rows a crash left behind), then on each wake."""
        while True:
            self._wake.clear()
            try:
                more = await self.step()
            except Exception:  # the outbox refused (OutboxRefused), the store failed
                log.exception("bookings_relay_failed: retrying in %.0f s", RETRY_S)
                await self.clock.sleep(RETRY_S)
                continue
            if not more:
                await self._wake.wait()

    async def step(self) -> bool:
        """One batch of every source into the outbox; whether any source has more."""
        more = False
        cursors = dict(await self.store.read("SELECT source, after FROM relay_cursor"))
        for source, read in SOURCES.items():
            rows = await read(self.store, int(cursors.get(source, 0)))
            if not rows:
                continue
            # one accept per event, all pending together: one fsync, order kept per stream
            await asyncio.gather(*(self.accept(s, p) for _, events in rows for s, p in events))
            last = rows[-1][0]
            done: list[tuple[str, Params]] = [
                ("INSERT OR REPLACE INTO relay_cursor VALUES (?,?)", (source, last))
            ]
            if source == "booking_events":  # handed over: the outbox holds them now
                done.append(("DELETE FROM booking_events WHERE id <= ?", (last,)))
            await self.store.write_all(done)
            self.relayed += len(rows)
            more = more or len(rows) == BATCH
        return more
