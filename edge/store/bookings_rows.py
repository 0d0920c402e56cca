"""Bookings and their assignment history as rows of the local store (migration 2).

A booking is one row (the latest version, with the bay its truck parked on, if any) holding
its JSON form (edge/booking_wire.py); every assignment change is its own row, never rewritten.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from edge.access.assignment import Change
from edge.access.bookings import Booking, BookingInvalid
from edge.booking_wire import from_wire, to_wire
from edge.store.local_store import LocalStore, Params

log = logging.getLogger(__name__)
PRUNE_BATCH = 500  # ids per DELETE (SQLite's bound-parameter limit is far above)


SAVE = "INSERT OR REPLACE INTO bookings (id, version, start, bay, body) VALUES (?,?,?,?,?)"
EVENT = "INSERT INTO booking_events (at, payload) VALUES (?,?)"
CHANGE = "INSERT INTO assignments (booking, from_bay, to_bay, reason, at) VALUES (?,?,?,?,?)"


def save_row(booking: Booking, bay: str | None) -> tuple[str, Params]:
    body = json.dumps(to_wire(booking))
    return SAVE, (booking.id, booking.version, booking.period.start, bay, body)


def event_row(payload: dict[str, Any], at: float) -> tuple[str, Params]:
    """The `events/booking` payload, stored with the change it tells (migration 4)."""
    return EVENT, (at, json.dumps(payload))


def change_row(change: Change) -> tuple[str, Params]:
    return CHANGE, (change.booking, change.from_bay, change.to_bay, change.reason, change.at)


async def save(store: LocalStore, booking: Booking, bay: str | None) -> None:
    await store.write(*save_row(booking, bay))


async def load(store: LocalStore) -> list[tuple[Booking, str | None]]:
    """Every stored booking (by start) with its parked bay; an unreadable row is skipped with
    a warning (written by a newer release), never fatal."""
    out: list[tuple[Booking, str | None]] = []
    for row_id, bay, body in await store.read("SELECT id, bay, body FROM bookings ORDER BY start"):
        try:
            out.append((from_wire(json.loads(body)), None if bay is None else str(bay)))
        except (BookingInvalid, ValueError, TypeError) as exc:
            log.warning("booking_row_unreadable booking=%s why=%s", row_id, exc)
    return out


async def save_change(store: LocalStore, change: Change) -> None:
    await store.write(*change_row(change))


async def history(store: LocalStore, booking: str | None = None) -> list[Change]:
    """The assignment changes in the order recorded (of one booking, or all)."""
    sql = "SELECT booking, from_bay, to_bay, reason, at FROM assignments"
    rows = await (
        store.read(sql + " WHERE booking=? ORDER BY id", (booking,))
        if booking is not None
        else store.read(sql + " ORDER BY id")
    )
    return [Change(str(b), f, t, str(r), float(at)) for b, f, t, r, at in rows]


async def prune(store: LocalStore, booking_ids: list[str]) -> None:
    """Delete these bookings and their assignment history (history first: a crash between
    the two leaves a booking without history, pruned again next time). The audit log is
    append-only and not touched."""
    for i in range(0, len(booking_ids), PRUNE_BATCH):
        batch = booking_ids[i : i + PRUNE_BATCH]
        marks = ",".join("?" * len(batch))
        await store.write(f"DELETE FROM assignments WHERE booking IN ({marks})", batch)  # noqa: S608
        await store.write(f"DELETE FROM bookings WHERE id IN ({marks})", batch)  # noqa: S608


def current(changes: list[Change]) -> dict[str, str]:
    """Booking -> bay from the history: the last change of each booking decides."""
    out: dict[str, str] = {}
    for c in changes:
        if c.to_bay is None:
            out.pop(c.booking, None)
        else:
            out[c.booking] = c.to_bay
    return out
