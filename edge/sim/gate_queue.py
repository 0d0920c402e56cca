"""The entry lane in the day runner: the daemon's admission and bay assignment, in virtual time.

Each arriving truck is decided by `edge.access.admission.decide` over the bays' states and
the day's bookings; booked trucks go to the bay `edge.access.assignment.plan` gave their
booking (planned every `ASSIGN_EVERY_S`), ad-hoc trucks to a seeded random compatible free
bay. A truck refused for want of a bay (`Full`, `NotAtThisTime`, `Expired`) waits at the
gate and is decided again each period until `patience_s` has passed; one refused for what
it is (`Referred`: not an electric truck; `Blocked`, `Invalid`) leaves at once. The lane's
barrier and drive to the bay take no time here (the gate machine has its own tests).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.access import admission, assignment
from edge.access.bookings import (
    Booking,
    Credentials,
    Period,
    PhaseEvent,
    Terms,
    expire,
    observe,
)
from edge.access.matching import Demand, fits
from edge.sessions import BayState
from edge.sim.trucks import TruckSpec
from edge.siteconf.model import Bay, Connector, InletSide

ASSIGN_EVERY_S = 60.0
WAIT_REASONS = frozenset({"Full", "NotAtThisTime", "Expired"})
BOOKING_TERMS = Terms(early_start_s=900.0, noshow_timeout_s=900.0)


@dataclass(frozen=True, slots=True)
class Entry:
    """How one truck fared at the gate."""

    truck: str
    admitted: bool
    reason: str  # admission's reason code (OCPP AuthorizationStatus style)
    detail: str
    wait_s: float  # from arrival to the decision that let it in or turned it away
    bay: str | None
    compatible_free: int  # compatible bays free at a refusal (a booked truck must see 0)


def booking_of(spec: TruckSpec) -> Booking:
    start = spec.slot_start
    return Booking(
        f"bk-{spec.id}",
        1,
        Period(start, max(spec.leave, start + 60.0)),
        Connector(spec.connector),
        InletSide(spec.inlet_side),
        spec.plot,
        Credentials(tractor_plate=spec.id),
        BOOKING_TERMS,
        energy_wanted_wh=spec.wanted_wh,
    )


class GateQueue:
    def __init__(self, bays: Sequence[Bay], trucks: Sequence[TruckSpec], seed: int) -> None:
        self.bays = tuple(bays)
        self.lane: dict[str, str] = {}  # truck -> the plot whose entry lane it came to
        self.rng = random.Random(seed * 7919 + 1)  # noqa: S311 (bay choice, not secrets)
        self.bookings = {f"bk-{t.id}": booking_of(t) for t in trucks if t.booked}
        self._sorted = admission.by_start(tuple(self.bookings.values()))
        self.assigned: dict[str, str] = {}
        self.next_plan = float("-inf")
        self.waiting: list[tuple[TruckSpec, float]] = []
        self.entries: dict[str, Entry] = {}
        self.refused: list[Entry] = []  # in the order decided
        self.patience_s = 900.0

    def arrive(self, spec: TruckSpec, now: float) -> None:
        self.lane[spec.id] = spec.plot or self._lane_for(spec)
        self.waiting.append((spec, now))

    def _lane_for(self, spec: TruckSpec) -> str:
        """A truck with no plot in mind drives to the entry of a seeded random plot that has
        bays for its connector and inlet side (any plot when none has)."""
        demand = _demand(spec)
        plots = sorted({b.plot for b in self.bays if fits(b, demand)})
        plots = plots or sorted({b.plot for b in self.bays})
        return plots[self.rng.randrange(len(plots))] if plots else ""

    def depart(self, spec: TruckSpec, now: float) -> None:
        self._observe(spec, PhaseEvent.DEPART, now)

    def decide(self, now: float, states: Mapping[str, BayState]) -> list[tuple[TruckSpec, str]]:
        """Trucks let in now and their bays; refusals are kept in `entries`."""
        if now >= self.next_plan:
            self._plan(now, states)
        if not self.waiting:
            return []
        states = dict(states)
        admitted: list[tuple[TruckSpec, str]] = []
        still: list[tuple[TruckSpec, float]] = []
        for spec, since in self.waiting:
            bay = self._one(spec, since, now, states)
            if bay is None and spec.id not in self.entries:
                still.append((spec, since))
            elif bay is not None:
                states[bay] = BayState.OCCUPIED
                admitted.append((spec, bay))
        self.waiting = still
        return admitted

    def _one(
        self, spec: TruckSpec, since: float, now: float, states: Mapping[str, BayState]
    ) -> str | None:
        booking = self.bookings.get(f"bk-{spec.id}")
        demand = _demand(spec)
        mine = self.assigned.get(booking.id) if booking is not None else None
        if mine is not None:  # the driver was told its bay: it comes to that plot's lane
            self.lane[spec.id] = next(b.plot for b in self.bays if b.id == mine)
        site = admission.Site(self.bays, states, self._sorted)
        arrival = admission.Arrival(
            self.lane[spec.id],
            admission.VehicleClass(spec.vehicle),
            admission.Via.PLATE if booking else admission.Via.NONE,
            booking,
            None if booking else demand,
            spec.leave - spec.arrive,
        )
        d = admission.decide(site, arrival, now)
        if booking is None:
            demand = Demand(self.lane[spec.id], demand.accepts)  # the plot of its lane
        free = [b for b in self.bays if states.get(b.id) is BayState.AVAILABLE and fits(b, demand)]
        if d.admitted and free:
            bay = self._bay_for(booking, free)
            self.entries[spec.id] = Entry(
                spec.id, True, d.reason, d.detail, now - since, bay, len(free)
            )
            self._observe(spec, PhaseEvent.ADMIT, now)
            self._observe(spec, PhaseEvent.PARK, now)
            return bay
        if d.reason.value in WAIT_REASONS and now - since < self.patience_s:
            return None
        self.entries[spec.id] = Entry(
            spec.id, False, d.reason, d.detail, now - since, None, len(free)
        )
        self.refused.append(self.entries[spec.id])
        return None

    def _bay_for(self, booking: Booking | None, free: list[Bay]) -> str:
        if booking is not None:
            mine = self.assigned.get(booking.id)
            if mine is not None and any(b.id == mine for b in free):
                return mine
            return free[0].id
        return free[self.rng.randrange(len(free))].id

    def _plan(self, now: float, states: Mapping[str, BayState]) -> None:
        self.next_plan = now + ASSIGN_EVERY_S
        changed = False
        for bid, b in list(self.bookings.items()):
            e = expire(b, now)
            if e is not b:
                self.bookings[bid], changed = e, True
        if changed:
            self._sorted = admission.by_start(tuple(self.bookings.values()))
        if self._sorted:
            self.assigned = dict(
                assignment.plan(self._sorted, self.bays, states, self.assigned, now).assignments
            )

    def _observe(self, spec: TruckSpec, event: PhaseEvent, now: float) -> None:
        bid = f"bk-{spec.id}"
        b = self.bookings.get(bid)
        if b is None:
            return
        self.bookings[bid] = observe(b, event, now)
        self._sorted = admission.by_start(tuple(self.bookings.values()))


def _demand(spec: TruckSpec) -> Demand:
    return Demand(spec.plot, frozenset({(Connector(spec.connector), InletSide(spec.inlet_side))}))
