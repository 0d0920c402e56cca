"""The session log: the pure `SessionTracker` plus where its records go (the uplink's outbox,
as events: never evicted) and the log lines.

The OCPP endpoint calls `started`, `meter_values` and `ended` (after `claim`ing its bays);
the control cycle calls `observe` with every bay's status for the other chargers. Each
record is offered to the outbox at once: an event cuts the outbox's group-commit window
short, so a session's start is committed (synchronous=FULL) within milliseconds, long
before its end, and a crash in between cannot lose it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
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
from edge.billing.wire import to_wire
from edge.chargers.port import BayStatus
from edge.siteconf.model import SiteConfig

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
    ) -> None:
        self.tracker = SessionTracker(
            config, new_id, meter_every_s=config.sessions.meter_values_every_s
        )
        self._emit = emit
        self._context = context or (lambda bay: Context())
        self.emitted = 0
        self.emit_failures = 0

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

    def session_of(self, bay: str) -> str | None:
        current = self.tracker.open.get(bay)
        return current.start.session_id if current is not None else None

    def _send(self, records: list[Record]) -> None:
        for record in records:
            _log(record)
            stream, payload = to_wire(record)
            try:
                self._emit(stream, payload)
                self.emitted += 1
            except Exception:  # the outbox reports its own faults; billing must go on
                self.emit_failures += 1
                log.exception(
                    "session_record_not_queued bay=%s session=%s", record.bay, record.session_id
                )


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
