"""The session log: the pure `SessionTracker` plus where its records go (the uplink's outbox,
as events: never evicted) and the log lines.

The OCPP endpoint calls `started`, `meter_values` and `ended` (after `claim`ing its bays);
the control cycle calls `observe` with every bay's status for the other chargers. Each
record is offered to the outbox at once: an event cuts the outbox's group-commit window
short, so a session's start is committed (synchronous=FULL) within milliseconds, long
before its end, and a crash in between cannot lose it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from edge.billing.model import (
    MeterKind,
    MeterSample,
    Record,
    SessionEnded,
    SessionStarted,
    SignedValue,
)
from edge.billing.tracker import Context, SessionTracker
from edge.billing.wire import open_from, open_text, to_wire
from edge.chargers.port import BayStatus
from edge.siteconf.model import SiteConfig
from edge.store import session_rows
from edge.store.local_store import LocalStore, StoreUnavailable

log = logging.getLogger(__name__)
Emit = Callable[[str, dict[str, Any]], None]  # (stream, payload), e.g. Outbox.offer


def _new_id() -> str:
    return uuid.uuid4().hex


def _nowhere(stream: str, payload: dict[str, Any]) -> None:
    return None


class SessionLog:
    def __init__(
        self,
        config: SiteConfig,
        emit: Emit = _nowhere,
        *,
        context: Callable[[str], Context] | None = None,
        new_id: Callable[[], str] = _new_id,
        store: LocalStore | None = None,
        commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.tracker = SessionTracker(
            config, new_id, meter_every_s=config.sessions.meter_values_every_s
        )
        self._emit = emit
        self._context = context or (lambda bay: Context())
        self.emitted = 0
        self.emit_failures = 0
        self._store = store
        self._commit = commit  # the outbox's flush: commit what was offered, now
        # (bay, the open session as stored, or None: ended), written in order by `run`.
        self._writes: asyncio.Queue[tuple[str, str | None]] = asyncio.Queue()
        self.store_failures = 0

    async def load(self) -> None:
        """The sessions open before a restart (after the store is open); never raises."""
        if self._store is None:
            return
        try:
            rows = await session_rows.load(self._store)
            self.tracker.restore(open_from(body) for _, body in rows)
        except (StoreUnavailable, ValueError, KeyError, TypeError) as exc:
            log.error("open_sessions_not_loaded why=%s", exc)
            return
        for bay, current in self.tracker.open.items():
            log.info("session_resumed bay=%s session=%s", bay, current.start.session_id)

    async def run(self) -> None:
        """Write the open sessions' changes to the store, in order (a task)."""
        while True:
            bay, body = await self._writes.get()
            try:
                await self._write(bay, body)
            finally:
                self._writes.task_done()

    async def _write(self, bay: str, body: str | None) -> None:
        if self._store is None:
            return
        try:
            if body is None:
                await session_rows.delete(self._store, bay)
            else:
                await session_rows.save(self._store, bay, body)
        except StoreUnavailable as exc:
            self.store_failures += 1
            if self.store_failures == 1:  # the store's own alarm says the rest
                log.error("open_session_not_stored bay=%s why=%s", bay, exc)

    async def drain(self) -> None:
        """Until every queued store write is done (with `run` running)."""
        await self._writes.join()

    def claim(self, bays: Iterable[str]) -> None:
        """The caller's backend reports these bays' sessions itself (never observed)."""
        self.tracker.claim(bays)

    def observe(self, statuses: Iterable[BayStatus], now: float) -> None:
        """One control cycle's bay statuses (the chargers that report only states)."""
        self._send(self.tracker.observe(statuses, now, self._context))

    def started(
        self,
        bay: str,
        at: float,
        meter_start_wh: float | None,
        *,
        transaction_id: str | None = None,
        id_token: str | None = None,
        booking: str | None = None,
        signed: SignedValue | None = None,
        meter_kind: MeterKind = MeterKind.REGISTER,
    ) -> str:
        """A session the backend was told of; its session id. Raises TrackerError (a
        ValueError) for an unknown bay."""
        ctx = self._context(bay)
        records = self.tracker.started(
            bay,
            at,
            meter_start_wh,
            transaction_id=transaction_id,
            id_token=id_token if id_token is not None else ctx.id_token,
            booking=booking if booking is not None else ctx.booking,
            kind=ctx.kind,
            signed=signed,
            meter_kind=meter_kind,
        )
        self._send(records)
        return records[-1].session_id

    def meter_values(
        self, bay: str, samples: Iterable[MeterSample], *, transaction_id: str | None = None
    ) -> None:
        """Samples as the charger sent them. TrackerError when no session is open there."""
        self._send(self.tracker.meter_values(bay, samples, transaction_id=transaction_id))

    def ended(
        self,
        bay: str,
        at: float,
        meter_stop_wh: float | None,
        reason: str,
        *,
        transaction_id: str | None = None,
        signed: SignedValue | None = None,
        samples: Iterable[MeterSample] = (),
    ) -> str:
        """The session's end; its session id. TrackerError when none is open there."""
        records = self.tracker.ended(
            bay,
            at,
            meter_stop_wh,
            reason,
            transaction_id=transaction_id,
            signed=signed,
            samples=samples,
        )
        self._send(records)
        return records[-1].session_id

    async def committed(self) -> None:
        """Return once every record queued so far is committed in the outbox (fsynced), e.g.
        before answering a charger's StartTransaction. When the outbox cannot write now
        (disk full, file unopenable) its memory spill holds them, under its alarm, until it
        can; this returns then without waiting."""
        if self._commit is not None:
            await self._commit()

    def session_of(self, bay: str) -> str | None:
        current = self.tracker.open.get(bay)
        return current.start.session_id if current is not None else None

    def _send(self, records: list[Record]) -> None:
        for record in records:
            _log(record)
            self._keep(record)
            stream, payload = to_wire(record)
            try:
                self._emit(stream, payload)
                self.emitted += 1
            except Exception:  # the outbox reports its own faults; billing must go on
                self.emit_failures += 1
                log.exception(
                    "session_record_not_queued bay=%s session=%s", record.bay, record.session_id
                )

    def _keep(self, record: Record) -> None:
        """Queue the store write that follows the record (the events are the outbox's)."""
        if self._store is None:
            return
        current = self.tracker.open.get(record.bay)
        if isinstance(record, SessionEnded):
            self._writes.put_nowait((record.bay, None))
        elif current is not None and current.start.session_id == record.session_id:
            self._writes.put_nowait((record.bay, open_text(current)))


def _log(record: Record) -> None:
    if isinstance(record, SessionStarted):
        log.info(
            "session_started bay=%s session=%s meter_start_wh=%s origin=%s transaction=%s",
            record.bay,
            record.session_id,
            record.meter_start_wh,
            record.origin.value,
            record.transaction_id,
        )
    elif isinstance(record, SessionEnded):
        log.info(
            "session_ended bay=%s session=%s energy_wh=%s reason=%s",
            record.bay,
            record.session_id,
            record.energy_wh,
            record.reason,
        )
