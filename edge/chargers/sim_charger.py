"""A simulated charger backend: in memory, no sockets, for the day runner and unit tests.

Each bay is a plain `SimBay` the caller (a plant model, a test) drives: it sets the state
and what the truck would draw; the charger delivers min(limit, demand) while a session is
open, and `step` counts the energy. Faults: `refusing` bays fail every write, `ignoring`
bays accept writes but keep their old limit (a charger that does not follow).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from edge.chargers.port import ApplyResult, BayStatus, BayWrite, Outcome
from edge.readings import Grade, Snapshot
from edge.sessions import BayState


@dataclass(slots=True)
class SimBay:
    state: BayState = BayState.AVAILABLE
    demand_w: float = 0.0  # what the truck would draw now, unlimited
    limit_w: float = 0.0  # the setpoint the charger applies
    energy_delivered_wh: float = 0.0
    soc_pct: float | None = None
    ev_max_power_w: float | None = None
    # What the truck tells over ISO 15118: its energy wanted, departure, battery size.
    ev_energy_wanted_wh: float | None = None
    ev_departure: float | None = None
    ev_battery_wh: float | None = None

    @property
    def power_w(self) -> float:
        return min(self.limit_w, self.demand_w) if self.state.in_session else 0.0


@dataclass(slots=True)
class SimCharger:
    charger: str
    bays: dict[str, SimBay]
    refusing: set[str] = field(default_factory=set)
    ignoring: set[str] = field(default_factory=set)
    writes: list[tuple[str, float]] = field(default_factory=list)  # every accepted write

    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        return ApplyResult(tuple(self._write(bay, w) for bay, w in setpoints.items()))

    def _write(self, bay: str, power_w: float) -> BayWrite:
        if bay not in self.bays:
            return BayWrite(bay, power_w, Outcome.FAILED, f"charger {self.charger}: no bay {bay!r}")
        if not math.isfinite(power_w) or power_w < 0:
            why = f"charger {self.charger} bay {bay}: {power_w!r} W is not a power to write"
            return BayWrite(bay, power_w, Outcome.FAILED, why)
        if bay in self.refusing:
            why = f"charger {self.charger} bay {bay}: write refused (simulated fault)"
            return BayWrite(bay, power_w, Outcome.FAILED, why)
        self.writes.append((bay, power_w))
        if bay not in self.ignoring:
            self.bays[bay].limit_w = power_w
        return BayWrite(bay, power_w, Outcome.WRITTEN)  # nothing reads it back

    def step(self, dt_s: float) -> None:
        """Advance the energy counters by `dt_s` at the present power."""
        for bay in self.bays.values():
            bay.energy_delivered_wh += bay.power_w * dt_s / 3600.0

    def states(self, snapshot: Snapshot) -> tuple[BayStatus, ...]:
        return tuple(
            BayStatus(
                bay=name,
                state=b.state,
                grade=Grade.FRESH,
                power_w=b.power_w,
                limit_w=b.limit_w,
                energy_delivered_wh=b.energy_delivered_wh,
                soc_pct=b.soc_pct,
                ev_max_power_w=b.ev_max_power_w,
                ev_energy_wanted_wh=b.ev_energy_wanted_wh,
                ev_departure=b.ev_departure,
                ev_battery_wh=b.ev_battery_wh,
                raw=str(b.state),
                at=snapshot.taken_at,  # read when asked: at the snapshot's instant
            )
            for name, b in self.bays.items()
        )
