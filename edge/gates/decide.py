"""Admission for the gate lanes: credential reads through `edge.access.entry`, with the
bookings from a `BookingsView` and the bays' states from a callable.

The bookings owner (edge/bookings_owner.py, built beside this) implements `BookingsView`;
`MemoryBookings` is the in-memory one for tests and a site without the store. The `Ledger`
(reads seen, who is inside, spent QR nonces) is kept here in memory; persisting it is the
store's part (`ledger_changed` is the hook).
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from edge.access.admission import Inputs, Site, by_start
from edge.access.bookings import Booking
from edge.access.entry import CredentialRead, Directory, EntryRules, Ledger, entry, exit_
from edge.access.gate_types import Event
from edge.access.matching import Demand
from edge.gates.audit import Audit, LogAudit
from edge.sessions import BayState
from edge.siteconf.model import Bay, GateLane

log = logging.getLogger(__name__)
RECENT = 10  # decisions kept for `edge gate status` and the status page
# An ad-hoc truck admitted is counted as driving to a bay this long (then its bay's sensor
# or charger shows it); booked trucks in that state keep theirs through their booking.
TRANSIT_S = 600.0


class BookingsView(Protocol):
    """The bookings the gate decides on (every status; `entry` skips the final ones)."""

    def bookings(self) -> Sequence[Booking]: ...


class MemoryBookings:
    def __init__(self, bookings: Sequence[Booking] = ()) -> None:
        self.items: list[Booking] = list(bookings)

    def bookings(self) -> Sequence[Booking]:
        return tuple(self.items)


class EntryDecider:
    def __init__(
        self,
        bookings: BookingsView,
        bays: Sequence[Bay],
        bay_states: Callable[[], Mapping[str, BayState]],
        rules: EntryRules,
        audit: Audit | None = None,
    ) -> None:
        self.view = bookings
        self.bays = tuple(bays)
        self.bay_states = bay_states
        self.rules = rules
        self.audit = audit or LogAudit()
        self.ledger = Ledger()
        self.tally: Counter[str] = Counter()  # entry decisions by reason code (status)
        self.recent: deque[dict[str, str]] = deque(maxlen=RECENT)  # the last few decisions
        self.ledger_changed: Callable[[Ledger], None] = lambda ledger: None
        self._directory: tuple[tuple[Booking, ...], Directory] | None = None
        self._transit: list[tuple[float, Demand]] = []  # ad-hoc trucks admitted, when

    def _bookings(self) -> tuple[tuple[Booking, ...], Directory]:
        """The bookings and their directory, rebuilt only when the bookings changed."""
        current = tuple(self.view.bookings())
        if self._directory is None or self._directory[0] != current:
            self._directory = (current, Directory.build(current))
        return self._directory

    def entry(self, gate: GateLane, read: CredentialRead, now: float) -> Event | None:
        bookings, directory = self._bookings()
        self._transit = [(t, d) for t, d in self._transit if now - t < TRANSIT_S]
        moving = tuple(d for _, d in self._transit)
        site = Site(self.bays, self.bay_states(), by_start(bookings), moving)
        self.ledger, outcome = entry(self.ledger, read, site, directory, gate.plot, now, self.rules)
        self.ledger_changed(self.ledger)
        if outcome.decision is None:
            log.info("gate_read_screened gate=%s reader=%s verdict=%s", gate.id, read.reader,
                     outcome.screened)  # fmt: skip
            return None
        d = outcome.decision
        needs = frozenset(self.rules.policy.ad_hoc_needs)
        if d.admitted and d.inputs.booking_id is None and needs:  # ad hoc, driving to a bay
            self._transit.append((now, Demand(gate.plot, needs)))
        self.tally[d.reason.value] += 1
        self.recent.append(
            {"gate": gate.id, "reason": d.reason.value, "booking": d.inputs.booking_id or "",
             "detail": d.detail, "at": str(now)}
        )  # fmt: skip
        self.audit.record(
            "admission",
            gate=gate.id,
            reader=read.reader,
            credential=read.kind.value,
            reason=d.reason.value,
            detail=d.detail,
            booking=d.inputs.booking_id or "",
            **admission_inputs(d.inputs),
        )
        return outcome.event

    def exit(self, gate: GateLane, read: CredentialRead, now: float) -> None:
        """Clear the vehicle's IN state; a booked truck's exit is recorded (`exit`, with its
        booking: the owner marks it DEPARTED, releasing its bay)."""
        _, directory = self._bookings()
        self.ledger, exited = exit_(self.ledger, read, directory, now, self.rules.verifier)
        self.ledger_changed(self.ledger)
        if not exited.matched:  # flagged for staff, never a refusal: the exit opens anyway
            log.warning("gate_exit_unmatched gate=%s reader=%s", gate.id, read.reader)
        self.audit.record(
            "exit",
            gate=gate.id,
            reader=read.reader,
            credential=read.kind.value,
            matched="yes" if exited.matched else "no",
            booking=exited.booking or "",
        )


def admission_inputs(inputs: Inputs) -> dict[str, str]:
    """What the decision used, as the audit record's text fields (`events/admission`)."""
    version = inputs.booking_version
    return {
        "at": str(inputs.now),
        "booking_version": "" if version is None else str(version),
        "vehicle": inputs.vehicle,
        "via": inputs.via,
        "horizon_end": str(inputs.horizon_end),
        "booked_due": str(inputs.booked_due),
        "in_transit": str(inputs.in_transit),
        "free_bays": str(inputs.free_bays),
    }
