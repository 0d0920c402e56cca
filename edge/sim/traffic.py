"""Trucks coming and going on the plant: each arrives on a seeded random free bay of its
connector (or is refused when none is free), leaves at its time, and leaves a result.
Shared by the day runner (virtual time) and `edge demo` (real time). With a `GateQueue`
(scenario runs) the daemon's admission and assignment decide instead, and a truck may
wait at the gate."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from edge.sessions import SessionKind
from edge.sim.gate_queue import GateQueue
from edge.sim.plant import Plant
from edge.sim.trucks import Truck, TruckSpec

MET_TOLERANCE_WH = 1_000.0  # within 1 kWh of what it wanted: the truck left served


@dataclass(frozen=True, slots=True)
class TruckResult:
    id: str
    kind: SessionKind
    bay: str | None  # None: refused, no free bay of its connector
    wanted_wh: float
    delivered_wh: float
    left: bool  # left within the run (else still on its bay at the end)
    booked: bool = False
    reason: str = ""  # the gate's reason code ("" without a gate)
    wait_s: float = 0.0  # at the gate, from arrival to the decision

    @property
    def met(self) -> bool:
        return self.bay is not None and self.delivered_wh >= self.wanted_wh - MET_TOLERANCE_WH


class Traffic:
    def __init__(
        self,
        plant: Plant,
        trucks: Sequence[TruckSpec],
        seed: int,
        gate: GateQueue | None = None,
    ) -> None:
        self.plant = plant
        self.gate = gate
        self.rng = random.Random(seed)  # noqa: S311 (bay choice, not secrets)
        self.arrivals = sorted(trucks, key=lambda t: (t.arrive, t.id))
        self.on_bay: dict[str, Truck] = {}
        self.results: list[TruckResult] = []
        self._specs = {t.id: t for t in trucks}
        self._refused = 0  # the gate's refusals already in `results`

    def due(self, now: float) -> None:
        """Trucks due leave, then trucks due arrive."""
        for bay, tr in list(self.on_bay.items()):
            if tr.spec.leave <= now:
                self.leave_now(bay)
        while self.arrivals and self.arrivals[0].arrive <= now:
            spec = self.arrivals.pop(0)
            if spec.leave <= now:  # came and went before the run began
                continue
            if self.gate is not None:
                self.gate.arrive(spec, now)
                continue
            free = self.plant.free_bays(spec.connector)
            if not free:
                self.results.append(
                    TruckResult(spec.id, spec.kind, None, spec.wanted_wh, 0.0, True)
                )
                continue
            bay = free[self.rng.randrange(len(free))]
            self.on_bay[bay] = self.plant.arrive(spec, bay)
        if self.gate is not None:
            self._through_gate(self.gate, now)

    def _through_gate(self, gate: GateQueue, now: float) -> None:
        if not gate.waiting and now < gate.next_plan:
            return  # nobody at the gate and no assignment due: no snapshot needed
        states = {b: s.state() for b, s in self.plant.bays.items()}
        for spec, bay in gate.decide(now, states):
            self.on_bay[bay] = self.plant.arrive(spec, bay)
        for e in gate.refused[self._refused :]:
            spec = self._specs[e.truck]
            self.results.append(
                TruckResult(
                    spec.id,
                    spec.kind,
                    None,
                    spec.wanted_wh,
                    0.0,
                    True,
                    spec.booked,
                    e.reason,
                    e.wait_s,
                )
            )
        self._refused = len(gate.refused)

    def arrive_now(self, spec: TruckSpec, now: float) -> None:
        """A truck turns up now (it arrives at the next `due`)."""
        self.arrivals.insert(0, replace(spec, arrive=now))

    def leave_now(self, bay: str) -> None:
        """The truck on `bay` leaves now, whatever it got."""
        tr = self.on_bay.pop(bay, None)
        if tr is not None:
            self.plant.depart(bay)
            if self.gate is not None:
                self.gate.depart(tr.spec, self.plant.now)
            self.results.append(self._result(tr, bay, left=True))

    def final(self) -> tuple[TruckResult, ...]:
        """Every truck's result, those still on a bay included (`left` False)."""
        out = self.results + [self._result(tr, bay, left=False) for bay, tr in self.on_bay.items()]
        for spec, since in self.gate.waiting if self.gate is not None else ():
            wait = self.plant.now - since
            out.append(
                TruckResult(
                    spec.id,
                    spec.kind,
                    None,
                    spec.wanted_wh,
                    0.0,
                    False,
                    spec.booked,
                    "Waiting",
                    wait,
                )
            )
        return tuple(sorted(out, key=lambda r: r.id))

    def _result(self, tr: Truck, bay: str, *, left: bool) -> TruckResult:
        s = tr.spec
        e = self.gate.entries.get(s.id) if self.gate is not None else None
        reason, wait = (e.reason, e.wait_s) if e is not None else ("", 0.0)
        return TruckResult(
            s.id, s.kind, bay, s.wanted_wh, tr.delivered_wh, left, s.booked, reason, wait
        )
