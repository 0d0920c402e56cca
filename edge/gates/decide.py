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
from dataclasses import dataclass
from typing import Protocol

from edge.access.admission import Inputs, Site, by_start
from edge.access.bookings import Booking
from edge.access.due import DueIndex
from edge.access.entry import CredentialRead, Directory, EntryRules, Ledger, entry, exit_
from edge.access.gate_types import Event
from edge.access.matching import BayClasses, Demand
from edge.gates.audit import Audit, LogAudit
from edge.sessions import BayState
from edge.siteconf.model import Bay, GateLane

log = logging.getLogger(__name__)
RECENT = 10  # decisions kept for `edge gate status` and the status page
# An ad-hoc truck admitted is counted as driving to a bay for `[access] ad_hoc_reserve_min`
# (then its bay's sensor or charger shows it); booked trucks in that state keep theirs
# through their booking. This is the default when the decider is built without one.
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
        transit_s: float = TRANSIT_S,
    ) -> None:
        self.view = bookings
        self.bays = tuple(bays)
        self.classes = BayClasses.of(self.bays)  # the bays change only with the site file
        self.bay_states = bay_states
        self.rules = rules
        self.transit_s = transit_s
        self.audit = audit or LogAudit()
        self.ledger = Ledger()
        self.tally: Counter[str] = Counter()  # entry decisions by reason code (status)
        self.recent: deque[dict[str, str]] = deque(maxlen=RECENT)  # the last few decisions
        self.ledger_changed: Callable[[Ledger], None] = lambda ledger: None
        self._indexed: _Indexed | None = None
        self._transit: list[tuple[float, Demand]] = []  # ad-hoc trucks admitted, when

    def _bookings(self) -> _Indexed:
        """The bookings with their directory and indexes, rebuilt only when they changed."""
        current = tuple(self.view.bookings())
        if self._indexed is None or self._indexed.bookings != current:
            self._indexed = _Indexed(
                current, Directory.build(current), by_start(current), DueIndex.build(current)
            )
        return self._indexed

    def entry(self, gate: GateLane, read: CredentialRead, now: float) -> Event | None:
        found = self._bookings()
        self._transit = [(t, d) for t, d in self._transit if now - t < self.transit_s]
        moving = tuple(d for _, d in self._transit)
        site = Site(self.bays, self.bay_states(), found.by_start, moving, found.due, self.classes)
        directory = found.directory
        self.ledger, outcome = entry(self.ledger, read, site, directory, gate.plot, now, self.rules)
        self.ledger_changed(self.ledger)
        if outcome.decision is None:
            log.info("gate_read_screened gate=%s reader=%s verdict=%s", gate.id, read.reader,
                     outcome.screened)  # fmt: skip
            return None
        d = outcome.decision
        needs = frozenset(d.inputs.needs)  # what it was admitted for, declared or possible
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
        directory = self._bookings().directory
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


@dataclass(frozen=True, slots=True)
class _Indexed:
    """One version of the bookings and what is built from it once."""

    bookings: tuple[Booking, ...]
    directory: Directory
    by_start: tuple[Booking, ...]
    due: DueIndex


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
        "needs": ",".join(f"{c}/{s}" for c, s in inputs.needs),
    }
