"""The charger port: what the controller needs of any charger, whatever it speaks.

Two abilities, per bay (a bay is one connector of a charger):

* `AppliesSetpoints.apply(setpoints)`: write each bay's power limit; per bay the outcome
  (`confirmed` by the charger's read-back or report, `written` where the charger has no
  read-back, or `failed` with the reason). It never raises: a failed write is reported and
  the caller retries it next cycle.
* `ReportsBays.states(snapshot)`: each bay's `BayState`, measured power and what the
  charger says about the session (energy delivered, state of charge, the truck's maximum,
  what the truck asked for),
  graded like every reading (fresh, stale, lost). It reads the cycle's frozen snapshot, so
  a decision sees one consistent picture; a backend that is told its values (OCPP status
  notifications, later) puts them into the process image like any driver.

Units: W, Wh, %; power delivered to the truck is positive. Nothing here knows Modbus, CAN
or OCPP: backends translate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from edge.readings import Grade, Snapshot
from edge.sessions import BayState


class Outcome(StrEnum):
    CONFIRMED = "confirmed"  # the charger reports applying it (read-back, status frame)
    WRITTEN = "written"  # accepted, but this charger has no way to confirm it
    FAILED = "failed"  # refused, not answered, not confirmed, or not writable: see reason


@dataclass(frozen=True, slots=True)
class BayWrite:
    bay: str
    power_w: float
    outcome: Outcome
    reason: str = ""  # why it failed, naming the device and point


@dataclass(frozen=True, slots=True)
class ApplyResult:
    writes: tuple[BayWrite, ...]  # one per bay asked for, in the order asked

    def failed(self) -> tuple[BayWrite, ...]:
        return tuple(w for w in self.writes if w.outcome is Outcome.FAILED)

    def of(self, bay: str) -> BayWrite:
        return next(w for w in self.writes if w.bay == bay)


@dataclass(frozen=True, slots=True)
class BayStatus:
    """One bay as its charger reports it, at the snapshot's time."""

    bay: str
    state: BayState
    grade: Grade  # the worst of the state's and the power's: act on `power_w` only if fresh
    power_w: float | None  # measured power delivered; None when lost or not reported
    # The limit the charger reports applying (an applied-limit point: CAN's power_limit_w),
    # None where it reports none: a read-back setpoint register is not that (setpoint_w).
    limit_w: float | None = None
    energy_delivered_wh: float | None = None  # this session, as the charger counts it
    soc_pct: float | None = None  # the truck's state of charge, when the charger knows it
    ev_max_power_w: float | None = None  # what the truck accepts now, when it says
    # What the truck asked for (ISO 15118, through OCPP 2.0.1 NotifyEVChargingNeeds), when
    # it said: the energy it wants for the session from plug-in (a total, not what remains),
    # and when it leaves (UTC epoch s).
    ev_energy_wanted_wh: float | None = None
    ev_departure: float | None = None
    ev_battery_wh: float | None = None  # its battery's size, when it said (the plan's taper)
    raw: str = ""  # the charger's own status word, for the operator ("preparing-ev-ready")
    at: float | None = None  # when `power_w` was read (monotonic s), to pair it with meters
    setpoint_w: float | None = None  # the setpoint register read back: what was last written


class AppliesSetpoints(Protocol):
    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        """Write each bay's power limit (W); never raises."""
        ...


class ReportsBays(Protocol):
    def states(self, snapshot: Snapshot) -> tuple[BayStatus, ...]:
        """Every bay of this backend as the snapshot shows it."""
        ...


class ChargerPort(AppliesSetpoints, ReportsBays, Protocol):
    """A charger backend: one charger's bays, or a whole site's (`SitePort`)."""
