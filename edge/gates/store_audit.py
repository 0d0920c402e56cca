"""The gate lanes' audit records into the store's hash-chained log, through the bookings
owner; an accepted admission of a booked truck is that booking's ADMIT fact, its exit read
its DEPART fact (the bay and the anti-passback state are released).

The lanes record synchronously (they must not wait on a disk to move a barrier); each record
is appended by a task of its own, in order (one lock in the log), and kept referenced until
written. The line `audit kind=...` is logged at once as well, so a record still on its way
when the process dies is at least in the journal.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from edge.access.bookings import IllegalPhase, PhaseEvent
from edge.booking_wire import iso
from edge.bookings_owner import BookingsOwner
from edge.gates.audit import LogAudit

log = logging.getLogger(__name__)


class StoreAudit:
    def __init__(self, owner: BookingsOwner) -> None:
        self.owner = owner
        self._line = LogAudit()
        self._pending: set[asyncio.Task[None]] = set()

    def record(self, kind: str, **fields: str) -> None:
        self._line.record(kind, **fields)
        task = asyncio.get_running_loop().create_task(self._write(kind, dict(fields)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, kind: str, fields: dict[str, str]) -> None:
        by = fields.get("who") or "site"
        if kind == "admission":
            self.owner.publish("events/admission", admission_event(fields))
        try:
            await self.owner.record(kind, fields.get("gate", ""), by, dict(fields))
            fact = _fact(kind, fields)
            if fact is not None:
                await self.owner.observe(fields["booking"], fact, by=f"gate {fields['gate']}")
        except (KeyError, IllegalPhase) as exc:  # an unknown booking, or a phase past it
            log.info("gate_fact_not_observed kind=%s booking=%s why=%s", kind,
                     fields.get("booking"), exc)  # fmt: skip
        except Exception:  # the audit path must never take a lane down
            log.exception("gate_audit_failed kind=%s gate=%s", kind, fields.get("gate"))

    async def drain(self) -> None:
        """Wait for the records still being written (at stop)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)


def _fact(kind: str, fields: dict[str, str]) -> PhaseEvent | None:
    """The booking's phase fact a gate record is: an accepted entry ADMIT, an exit DEPART."""
    if not fields.get("booking"):
        return None
    if kind == "admission" and fields.get("reason") == "Accepted":
        return PhaseEvent.ADMIT
    return PhaseEvent.DEPART if kind == "exit" else None


_COUNTS = ("booked_due", "in_transit", "free_bays")


def admission_event(fields: dict[str, str]) -> dict[str, Any]:
    """The `events/admission` payload (admission-event.json) of one admission audit record."""
    version = fields.get("booking_version", "")
    out: dict[str, Any] = {
        "gate": fields.get("gate", ""),
        "reader": fields.get("reader", ""),
        "credential": fields.get("credential", ""),
        "reason": fields.get("reason", ""),
        "detail": fields.get("detail", ""),
        "booking": fields.get("booking") or None,
        "booking_version": int(version) if version else None,
        "vehicle": fields.get("vehicle", ""),
        "via": fields.get("via", ""),
    }
    if "at" in fields:
        out["at"] = iso(float(fields["at"]))
        out["horizon_end"] = iso(float(fields["horizon_end"]))
        out.update({k: int(fields[k]) for k in _COUNTS})
    return out
