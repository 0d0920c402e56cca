"""A charger behind a profile-driven device (Modbus TCP/RTU, CAN): the port over the driver.

The device polls its points into the process image and writes through `write_point`
(confirmed by read-back or by the charger's status frame where the profile names a
`confirm` point). Bay n of the charger is connector n of the device, whose points are
`connector_point(name, n)`: `power_setpoint_w` (written), `status`, `power_w`, and where
the profile has them `session_energy_wh`, `ev_soc_pct`, `ev_max_power_w` and the limit the
charger applies (`APPLIED`, e.g. the CAN cabinet's status frame). A Modbus setpoint
register read back shows a write the moment it lands, not when the charger applies it: it
is `BayStatus.setpoint_w`, never `limit_w`, so it cannot confirm a change of power.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from edge.chargers.bay_states import bay_state
from edge.chargers.port import ApplyResult, BayStatus, BayWrite, Outcome
from edge.drivers.device_base import WriteFailed
from edge.drivers.profile_common import connector_point
from edge.readings import Grade, Reading, Snapshot
from edge.sessions import BayState

log = logging.getLogger(__name__)

SETPOINT = "power_setpoint_w"
APPLIED = "power_limit_w"  # a profile point with the limit the charger applies now
WRITE_TIMEOUT_S = 5.0  # a bound on one write and its confirmation, whatever the link does
_GRADE_RANK = {Grade.FRESH: 0, Grade.STALE: 1, Grade.LOST: 2}


class _Point(Protocol):
    @property
    def labels(self) -> Mapping[int, str]: ...
    @property
    def confirm(self) -> str | None: ...


class _Profile(Protocol):
    @property
    def id(self) -> str: ...
    def point(self, name: str) -> _Point: ...


class WritingDevice(Protocol):
    """What the backend needs of a driver (ModbusDevice and CanDevice both are one)."""

    id: str

    @property
    def profile(self) -> _Profile: ...
    async def write_point(self, name: str, value: float) -> None: ...


@dataclass(frozen=True, slots=True)
class BayConnector:
    bay: str
    connector: int  # `bays[].connector_id`


class DeviceCharger:
    """One charger (one device), its bays by connector."""

    def __init__(
        self,
        charger: str,
        device: WritingDevice,
        bays: Iterable[BayConnector],
        write_timeout_s: float = WRITE_TIMEOUT_S,
    ) -> None:
        self.charger = charger
        self.device = device
        self.bays = {b.bay: b.connector for b in bays}
        self.write_timeout_s = write_timeout_s
        self._failing: set[str] = set()  # bays whose last write failed (log transitions)

    def point_of(self, bay: str, name: str) -> str:
        return connector_point(name, self.bays[bay])

    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        """One write per bay, in the order given (the caller puts decreases first)."""
        return ApplyResult(tuple([await self._write(bay, w) for bay, w in setpoints.items()]))

    async def _write(self, bay: str, power_w: float) -> BayWrite:
        problem = self._refusal(bay, power_w)
        if problem is not None:
            return self._outcome(bay, power_w, Outcome.FAILED, problem)
        name = self.point_of(bay, SETPOINT)
        try:
            async with asyncio.timeout(self.write_timeout_s):
                await self.device.write_point(name, power_w)
        except WriteFailed as exc:
            return self._outcome(bay, power_w, Outcome.FAILED, str(exc))
        except TimeoutError:
            why = f"device {self.device.id}: write {name}={power_w:g}: no outcome within "
            return self._outcome(bay, power_w, Outcome.FAILED, f"{why}{self.write_timeout_s:g} s")
        except Exception as exc:  # a driver bug must not stop the cycle: report it as a failure
            log.exception("charger_write_crashed charger=%s bay=%s", self.charger, bay)
            why = f"device {self.device.id}: write {name}: {type(exc).__name__}: {exc}"
            return self._outcome(bay, power_w, Outcome.FAILED, why)
        confirmed = self.device.profile.point(name).confirm is not None
        return self._outcome(bay, power_w, Outcome.CONFIRMED if confirmed else Outcome.WRITTEN)

    def _refusal(self, bay: str, power_w: float) -> str | None:
        if bay not in self.bays:
            return f"charger {self.charger}: no bay {bay!r} (has {', '.join(self.bays)})"
        if not math.isfinite(power_w) or power_w < 0:
            return f"charger {self.charger} bay {bay}: {power_w!r} W is not a power to write"
        return None

    def _outcome(self, bay: str, power_w: float, outcome: Outcome, why: str = "") -> BayWrite:
        if outcome is Outcome.FAILED and bay not in self._failing:
            self._failing.add(bay)
            log.warning(
                "setpoint_failed charger=%s bay=%s power_w=%g error=%s",
                self.charger,
                bay,
                power_w,
                why,
            )
        elif outcome is not Outcome.FAILED and bay in self._failing:
            self._failing.discard(bay)
            log.info("setpoint_recovered charger=%s bay=%s power_w=%g", self.charger, bay, power_w)
        return BayWrite(bay, power_w, outcome, why)

    def states(self, snapshot: Snapshot) -> tuple[BayStatus, ...]:
        return tuple(self._status(bay, snapshot) for bay in self.bays)

    def _status(self, bay: str, snapshot: Snapshot) -> BayStatus:
        status = self._reading(snapshot, bay, "status")
        power = self._reading(snapshot, bay, "power_w")
        grade = max(_grade(status), _grade(power), key=_GRADE_RANK.__getitem__)
        if status is None or status.value is None or _grade(status) is Grade.LOST:
            state, raw = BayState.UNAVAILABLE, "no status"
        else:
            labels = self.device.profile.point(self.point_of(bay, "status")).labels
            state, raw = bay_state(labels, status.value)
        return BayStatus(
            bay=bay,
            state=state,
            grade=grade,
            power_w=None if _grade(power) is Grade.LOST or power is None else power.value,
            limit_w=self._fresh(snapshot, bay, APPLIED),
            setpoint_w=self._fresh(snapshot, bay, SETPOINT),
            energy_delivered_wh=self._fresh(snapshot, bay, "session_energy_wh"),
            soc_pct=self._fresh(snapshot, bay, "ev_soc_pct"),
            ev_max_power_w=self._fresh(snapshot, bay, "ev_max_power_w"),
            raw=raw,
            at=None if power is None or power.value is None else power.at,
        )

    def _reading(self, snapshot: Snapshot, bay: str, name: str) -> Reading | None:
        return snapshot.reading(self.device.id, self.point_of(bay, name))

    def _fresh(self, snapshot: Snapshot, bay: str, *names: str) -> float | None:
        """The first of `names` the snapshot holds fresh; None when none is."""
        for name in names:
            reading = self._reading(snapshot, bay, name)
            if reading is not None and reading.usable():
                return reading.value
        return None


def _grade(reading: Reading | None) -> Grade:
    return Grade.LOST if reading is None or reading.value is None else reading.grade
