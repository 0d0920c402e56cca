"""The bookings owner's journal: every decision in the hash-chained audit log, in one store
transaction with the state and event rows it changes, then told to the listeners.

A change is stored with its events (`booking_events`, `assignments`, the audit entry; store
migration 4) before memory moves, so a crash at any moment leaves both or neither; the
relay (edge/bookings_relay.py) hands them to the uplink's outbox. Listeners are in-process
(tests, status) and not durable. With the store down the site still acts on the change, the
events go to the relay's outbox directly (best effort) and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from edge.store import StoreUnavailable, audit_rows
from edge.store.audit_rows import AuditLog, Entry
from edge.store.local_store import LocalStore, Params

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], None]  # (stream, payload)
Row = tuple[str, Params]  # one statement of a store transaction


class Relay(Protocol):
    """Hands the events stored with each change to the uplink (edge/bookings_relay.py)."""

    def wake(self) -> None: ...
    def offer(self, stream: str, payload: dict[str, Any]) -> None: ...


class BookingsJournal:
    def __init__(self, store: LocalStore, wall: Callable[[], float]) -> None:
        self.store, self.wall = store, wall
        self.audit = AuditLog(store)
        self.warnings: list[str] = []
        self._listeners: list[Emit] = []  # in process (tests, status); not durable
        self.relay: Relay | None = None  # the uplink's durable path, when there is one

    def listen(self, emit: Emit) -> None:
        self._listeners.append(emit)

    def publish(self, stream: str, payload: dict[str, Any]) -> None:
        """An event of the site's gates (`events/admission`) to the in-process listeners; the
        uplink gets it from the gate's `admission` audit entry (edge/bookings_relay.py)."""
        self._emit(stream, payload)

    def _emit(self, stream: str, payload: dict[str, Any]) -> None:
        for emit in self._listeners:
            try:
                emit(stream, payload)
            except Exception:  # one listener (the uplink) must not stop the others
                log.exception("bookings_listener_failed stream=%s", stream)

    def _not_persisted(self, why: str) -> None:
        message = f"bookings not persisted: {why}"
        if message not in self.warnings:
            self.warnings.append(message)
            log.error("bookings_store_failed why=%s", why)

    async def record(self, kind: str, subject: str, by: str, detail: dict[str, Any]) -> None:
        """An audit entry for a decision made elsewhere (a gate lane): appended to the
        hash-chained log in the store and relayed as `events/audit`."""
        await self._record(kind, subject, by, detail)

    async def _record(self, kind: str, subject: str, by: str, detail: dict[str, Any]) -> None:
        entry = await self._append(kind, subject, by, detail, [])
        if entry is not None:
            self._emit("events/audit", audit_rows.wire(entry))

    async def _append(
        self, kind: str, subject: str, by: str, detail: dict[str, Any], rows: list[Row]
    ) -> Entry | None:
        """The audit entry with `rows` (state and event rows), atomically; None if the store
        failed (nothing of it written)."""
        try:
            entry = await self.audit.append(kind, subject, by, detail, self.wall(), rows)
        except StoreUnavailable as exc:
            self._not_persisted(str(exc))
            return None
        if self.relay is not None:
            self.relay.wake()  # new rows for the uplink's outbox
        return entry

    def _told(self, stream: str, payload: dict[str, Any], *, durable: bool) -> None:
        """To the in-process listeners; without the store, straight to the relay's outbox
        (best effort: the durable path is the store)."""
        self._emit(stream, payload)
        if not durable and self.relay is not None:
            self.relay.offer(stream, payload)
