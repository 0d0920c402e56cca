"""The daemon's owner of bookings and bay assignments: the shell around edge/access.

It holds the bookings in memory, persists each change in the local store before answering,
merges cloud versions by `bookings.merge` (idempotent by version; a fact observed on site
wins), and every period (or on a change) expires no-shows, turns bay occupancy into phase
facts (parked, charging, overstay, departed) and re-plans the assignments with the
availability owner's view. Every decision goes to the hash-chained audit log with the rows
of its events, in one transaction (edge/bookings_journal.py); the relay hands them to the
uplink (`events/booking`, `events/assignment`, `events/audit`, `events/admission`). It runs
with or without the uplink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from edge.access import assignment, occupancy
from edge.access.assignment import Change
from edge.access.bookings import (
    PHASES,
    Booking,
    BookingStatus,
    Merge,
    MergeOutcome,
    PhaseEvent,
    expire,
    merge,
    observe,
    prunable,
    stays_by_bay,
    validate,
)
from edge.availability_owner import AvailabilityOwner
from edge.booking_wire import iso, to_wire
from edge.bookings_journal import BookingsJournal
from edge.clock import Clock
from edge.sessions import BayState, BookedStay
from edge.store import StoreUnavailable, audit_rows, bookings_rows

log = logging.getLogger(__name__)
TICK_S = 10.0  # re-plan at least this often: slots open with time, not only on changes
SITE = "site"  # `by` of decisions the site takes itself


class BookingsOwner(BookingsJournal):
    def __init__(self, availability: AvailabilityOwner, clock: Clock) -> None:
        self.availability, self.clock = availability, clock
        self.config = availability.config
        super().__init__(availability.store, clock.wall)  # one local store file for the site
        self.occupancy: Callable[[], Mapping[str, BayState]] = dict  # observed bay states
        self._bookings: dict[str, Booking] = {}
        self._parked: dict[str, str] = {}  # booking -> the bay its truck parked on
        self._assigned: dict[str, str] = {}
        self._unplaced: dict[str, str] = {}  # booking -> why nothing fits (said once)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.loaded = asyncio.Event()  # what the store held is in (or the store failed)
        availability.listen(lambda view: self._wake.set())

    # --- start, listeners ---------------------------------------------------------------
    async def load(self) -> None:
        """Take what the store holds (after the availability owner opened it); never raises."""
        try:
            for booking, bay in await bookings_rows.load(self.store):
                self._bookings[booking.id] = booking
                if bay is not None:
                    self._parked[booking.id] = bay
            self._assigned = bookings_rows.current(await bookings_rows.history(self.store))
        except StoreUnavailable as exc:
            self._not_persisted(str(exc))
        self.loaded.set()
        log.info(
            "bookings_loaded bookings=%d assigned=%d", len(self._bookings), len(self._assigned)
        )

    # --- reads ----------------------------------------------------------------------------
    def bookings(self) -> list[Booking]:
        return sorted(self._bookings.values(), key=lambda b: (b.period.start, b.id))

    def get(self, booking_id: str) -> Booking | None:
        return self._bookings.get(booking_id)

    def bay_of(self, booking_id: str) -> str | None:
        return self._assigned.get(booking_id) or self._parked.get(booking_id)

    def on_bays(self) -> dict[str, BookedStay]:
        """The booked trucks on their bays, by bay (the power controller's sessions)."""
        return stays_by_bay(self._bookings.values(), self.bay_of)

    async def history(self, booking_id: str) -> list[Change]:
        return await bookings_rows.history(self.store, booking_id)

    # --- changes --------------------------------------------------------------------------
    async def upsert(self, incoming: Booking, *, by: str, kind: str = "booking-upsert") -> Merge:
        """Merge one version (validated here); persisted and audited before it returns."""
        validate(incoming)
        await self.loaded.wait()  # a cloud command may come in while the store opens
        async with self._lock:
            result = merge(self._bookings.get(incoming.id), incoming)
            detail = {"outcome": result.outcome.value, "version": incoming.version}
            if result.outcome in (MergeOutcome.DUPLICATE, MergeOutcome.STALE):
                await self._record(
                    kind, incoming.id, by, {**detail, "kept": result.booking.version}
                )
                return result
            await self._put(result.booking, by, kind, detail)
        self._wake.set()
        return result

    async def cancel(
        self,
        booking_id: str,
        *,
        by: str,
        version: int | None = None,
        updated_at: float | None = None,
    ) -> Merge:
        """Cancel: from the cloud with its new version (merge rules apply), or locally (a
        technician, cloud down) keeping the version, so the cloud's next word still counts."""
        await self.loaded.wait()
        local = self._bookings.get(booking_id)
        if local is None:
            raise KeyError(f"booking {booking_id!r}: not known on this site")
        now = self.clock.wall() if updated_at is None else updated_at
        if version is not None:
            incoming = replace(
                local, version=version, status=BookingStatus.CANCELED, updated_at=now
            )
            return await self.upsert(incoming, by=by, kind="booking-cancel")
        async with self._lock:  # a cancel after arrival applies; the phase stays the site's
            local = self._bookings[booking_id]
            if local.status is BookingStatus.CANCELED:
                await self._record("booking-cancel", booking_id, by, {"outcome": "duplicate"})
                return Merge(local, MergeOutcome.DUPLICATE)
            if local.status.final:
                raise ValueError(f"booking {booking_id!r}: already {local.status.value}")
            after = replace(local, status=BookingStatus.CANCELED, updated_at=now)
            await self._put(after, by, "booking-cancel", {"outcome": "applied", "local": True})
        self._wake.set()
        return Merge(after, MergeOutcome.APPLIED)

    async def observe(self, booking_id: str, event: PhaseEvent, *, by: str = SITE) -> Booking:
        """A fact seen on site (admitted at the gate, departed); IllegalPhase changes nothing."""
        async with self._lock:
            booking = await self._observe(self._bookings[booking_id], event, by)
        self._wake.set()
        return booking

    async def _observe(self, booking: Booking, event: PhaseEvent, by: str) -> Booking:
        now = self.clock.wall()
        after = observe(booking, event, now)
        if event is PhaseEvent.PARK and booking.id in self._assigned:
            self._parked[booking.id] = self._assigned[booking.id]
        if event is PhaseEvent.DEPART:  # its bay is free for the next truck
            self._parked.pop(booking.id, None)
        await self._put(
            after, by, event.value, {"from": booking.phase.value, "to": after.phase.value}
        )
        return after

    async def _put(self, booking: Booking, by: str, kind: str, detail: dict[str, Any]) -> None:
        """The booking row, its `events/booking` and its audit entry in one transaction;
        memory changes only once they are stored (or the store failed: the site must act)."""
        event = {
            "event": kind,
            **detail,
            "booking": to_wire(booking),
            "bay": self.bay_of(booking.id),
        }
        rows = [
            bookings_rows.save_row(booking, self._parked.get(booking.id)),
            bookings_rows.event_row(event, self.clock.wall()),
        ]
        entry = await self._append(kind, booking.id, by, detail, rows)
        self._bookings[booking.id] = booking
        log.info(
            "booking_changed booking=%s version=%d status=%s phase=%s by=%s %s",
            booking.id,
            booking.version,
            booking.status.value,
            booking.phase.value,
            by,
            " ".join(f"{k}={v}" for k, v in detail.items()),
        )
        self._told("events/booking", event, durable=entry is not None)
        if entry is not None:
            self._emit("events/audit", audit_rows.wire(entry))

    # --- the periodic decisions -----------------------------------------------------------
    async def run(self) -> None:
        """Supervised task: tick every TICK_S, and at once on a change."""
        while True:
            try:
                await self.tick()
            except Exception:  # a bug in one tick must not stop assignment for good
                log.exception("bookings_tick_failed")
            await _sleep_or_wake(self.clock, self._wake, TICK_S)

    async def tick(self) -> None:
        """No-shows, occupancy facts (parked, charging, overstay, departed), then assignments."""
        async with self._lock:
            now = self.clock.wall()
            observed = dict(self.occupancy())
            for booking in self.bookings():
                after = expire(booking, now)
                if after is not booking:
                    await self._put(after, SITE, "no-show", {"noshow_at": booking.window()[1]})
                bay = self.bay_of(booking.id)
                fact = occupancy.site_fact(after, observed.get(bay or ""), now)
                if fact is not None:
                    await self._observe(after, fact, SITE)
            await self._replan(now, observed)
            await self._prune(now)

    async def _prune(self, now: float) -> None:
        """Finished bookings past the retention leave memory and the store (at most a batch
        per tick); one audit entry names them. The audit log itself is never pruned."""
        keep_s = self.config.access.keep_bookings_days * 86_400.0
        gone = [b.id for b in self._bookings.values() if prunable(b, now, keep_s)]
        gone = sorted(gone)[: bookings_rows.PRUNE_BATCH]
        if not gone:
            return
        try:
            await bookings_rows.prune(self.store, gone)
        except StoreUnavailable as exc:  # kept in memory too: tried again next tick
            self._not_persisted(str(exc))
            return
        for booking_id in gone:
            for held in (self._bookings, self._assigned, self._parked, self._unplaced):
                held.pop(booking_id, None)
        log.info("bookings_pruned count=%d keep_days=%g", len(gone), keep_s / 86_400.0)
        detail = {"bookings": gone, "keep_days": keep_s / 86_400.0}
        await self._record("prune", "bookings", SITE, detail)

    async def _replan(self, now: float, observed: Mapping[str, BayState]) -> None:
        view = self.availability.view()
        bays = self.config.bays
        states = occupancy.bay_states([b.id for b in bays], view.unavailable_bays, observed)
        lead_s = self.config.access.assign_lead_min * 60.0
        plan = assignment.plan(self.bookings(), bays, states, self._assigned, now, lead_s)
        for change in plan.changes:
            if change.to_bay is None and change.from_bay is None:
                if self._unplaced.get(change.booking) == change.reason:
                    continue  # still nothing fits: said once, not every tick
                self._unplaced[change.booking] = change.reason
            else:
                self._unplaced.pop(change.booking, None)
            await self._assignment_changed(change)
        self._assigned = dict(plan.assignments)  # once every change is stored

    async def _assignment_changed(self, change: Change) -> None:
        """The assignment row (the source of `events/assignment`), the booking's phase and
        the audit entry in one transaction."""
        booking = self._bookings.get(change.booking)
        event = PhaseEvent.ASSIGN if change.to_bay else PhaseEvent.UNASSIGN
        after = booking
        if booking is not None and event in PHASES[booking.phase]:
            after = observe(booking, event, change.at)
        rows = [bookings_rows.change_row(change)]
        if after is not None and after != booking:
            rows.append(bookings_rows.save_row(after, self._parked.get(after.id)))
        detail = {"from_bay": change.from_bay, "to_bay": change.to_bay, "reason": change.reason}
        entry = await self._append("assignment", change.booking, SITE, detail, rows)
        if after is not None:
            self._bookings[after.id] = after
        log.info(
            "assignment_changed booking=%s from_bay=%s to_bay=%s reason=%r",
            change.booking,
            change.from_bay or "-",
            change.to_bay or "-",
            change.reason,
        )
        payload = {"booking": change.booking, **detail, "at": iso(change.at)}
        self._told("events/assignment", payload, durable=entry is not None)
        if entry is not None:
            self._emit("events/audit", audit_rows.wire(entry))


async def _sleep_or_wake(clock: Clock, wake: asyncio.Event, seconds: float) -> None:
    wake.clear()
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, waker):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(sleeper, waker, return_exceptions=True)
