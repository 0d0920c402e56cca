"""The charger port's OCPP backend: one charge point's bays, setpoints as charging profiles.

`apply` decides per bay (edge/ocpp/profiles.py) whether a profile must go: a TxProfile while a
transaction runs, else a TxDefaultProfile on the bay's connector; a move within the threshold
sends nothing and reports the accepted profile as confirmed. Each profile is checked:
`Accepted` -> confirmed; `Rejected`, a CALLERROR or no answer -> failed with the reason, so the
break-before-make ledger counts it as not applied and the next period asks again.
`states` reads the frozen snapshot, as `DeviceCharger` does, and what the bay's truck asked
for (NotifyEVChargingNeeds) from the station's record, as the last accepted profile.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping
from typing import Protocol

from edge.chargers.port import ApplyResult, BayStatus, BayWrite, Outcome
from edge.clock import Clock
from edge.drivers.profile_common import connector_point
from edge.ocpp.ev_needs import EvNeeds
from edge.ocpp.profiles import ProfileOrder, Rules, Sent, bay_order, decide
from edge.ocpp.states import bay_state
from edge.ocpp.station import Station
from edge.readings import Grade, Reading, Snapshot

log = logging.getLogger(__name__)
_RANK = {Grade.FRESH: 0, Grade.STALE: 1, Grade.LOST: 2}


class Session(Protocol):
    """A connected charge point, as the backend needs it (V16/V201ChargePoint)."""

    async def set_profile(self, order: ProfileOrder) -> str | None: ...


class OcppCharger:
    def __init__(
        self,
        station: Station,
        sessions: Mapping[str, Session],
        clock: Clock,
        rules: Rules,
        timeout_s: float = 5.0,  # the port's bound on one write (docs/chargers.md)
    ) -> None:
        self.station = station
        self.charger = station.charger
        self.bays = {bay: connector for connector, bay in station.bays.items()}
        self._sessions = sessions  # identity -> the open connection, if any
        self.clock = clock
        self.rules = rules
        self.timeout_s = timeout_s
        self._failing: set[str] = set()
        # apply and refresh both send: one at a time, so a refresh never re-sends a limit
        # read before a decrease that apply was sending
        self._lock = asyncio.Lock()

    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        """One bay after the other, in the order given (decreases first)."""
        async with self._lock:
            return ApplyResult(tuple([await self._one(bay, w) for bay, w in setpoints.items()]))

    async def refresh(self) -> int:
        """Re-send each accepted profile that is past half its validity, or whose bay's
        transaction changed: the control cycle writes changes only, and a dynamic profile
        left alone would lapse to the fallback while the edge is running. How many went."""
        sent = 0
        async with self._lock:
            wall = self.clock.wall()
            for bay, connector in self.bays.items():
                last = self.station.sent.get(connector)
                if last is None:
                    continue
                due = last.valid_to is not None and last.valid_to - wall < self.rules.validity_s / 2
                if due or last.transaction_id != self.station.tx_of(connector):
                    sent += (await self._one(bay, last.limit_w)).outcome is Outcome.CONFIRMED
        return sent

    async def _one(self, bay: str, power_w: float) -> BayWrite:
        st = self.station
        if bay not in self.bays:
            return self._done(bay, power_w, f"charger {self.charger}: no bay {bay!r}")
        if not math.isfinite(power_w) or power_w < 0:
            return self._done(
                bay, power_w, f"charger {self.charger} bay {bay}: {power_w!r} W is not a power"
            )
        cp = self._sessions.get(st.identity)
        if cp is None:
            return self._done(bay, power_w, f"charge point {st.identity}: not connected")
        connector = self.bays[bay]
        tx = st.tx_of(connector)
        now, wall = self.clock.monotonic(), self.clock.wall()
        verdict = decide(st.sent.get(connector), power_w, tx, now, wall, self.rules)
        if not verdict.send:
            if verdict.why == "rate-limited":
                why = (
                    f"charge point {st.identity} connector {connector}: raise held, the last "
                    f"profile is under {self.rules.min_interval_s:g} s old"
                )
                return BayWrite(bay, power_w, Outcome.FAILED, why)  # expected: no warning
            return self._done(bay, power_w)
        order = bay_order(connector, power_w, tx, wall, self.rules)
        try:
            problem = await asyncio.wait_for(cp.set_profile(order), timeout=self.timeout_s)
        except TimeoutError:
            problem = "SetChargingProfile: no answer in time"
        except Exception as exc:  # a closed socket, a package bug: failed, never raised
            problem = f"SetChargingProfile: {type(exc).__name__}: {exc}"
        st.profiles_sent += 1
        if problem is not None:
            st.profiles_rejected += 1
            st.last_rejection = problem
            return self._done(
                bay, power_w, f"charge point {st.identity} connector {connector}: {problem}"
            )
        st.sent[connector] = Sent(order.limit_w, now, order.valid_to, tx)
        return self._done(bay, power_w)

    def _done(self, bay: str, power_w: float, why: str = "") -> BayWrite:
        if why and bay not in self._failing:
            self._failing.add(bay)
            log.warning(
                "setpoint_failed charger=%s bay=%s power_w=%g error=%s",
                self.charger,
                bay,
                power_w,
                why,
            )
        elif not why and bay in self._failing:
            self._failing.discard(bay)
            log.info("setpoint_recovered charger=%s bay=%s power_w=%g", self.charger, bay, power_w)
        return BayWrite(bay, power_w, Outcome.FAILED if why else Outcome.CONFIRMED, why)

    def states(self, snapshot: Snapshot) -> tuple[BayStatus, ...]:
        return tuple(self._status(bay, c, snapshot) for bay, c in self.bays.items())

    def _status(self, bay: str, connector: int, snapshot: Snapshot) -> BayStatus:
        def reading(name: str) -> Reading | None:
            return snapshot.reading(self.station.identity, connector_point(name, connector))

        def fresh(name: str) -> float | None:
            r = reading(name)
            return r.value if r is not None and r.usable() else None

        status, power = reading("status"), reading("power_w")
        grade = max(_grade(status), _grade(power), key=_RANK.__getitem__)
        if status is None or _grade(status) is Grade.LOST:
            state, raw = bay_state(None)
        else:
            state, raw = bay_state(status.value)
        sent = self.station.sent.get(connector)
        needs = self.station.needs.get(connector) or EvNeeds()
        return BayStatus(
            bay=bay,
            state=state,
            grade=grade,
            power_w=None if power is None or _grade(power) is Grade.LOST else power.value,
            limit_w=_first(fresh("power_limit_w"), sent.limit_w if sent is not None else None),
            energy_delivered_wh=fresh("session_energy_wh"),
            soc_pct=fresh("ev_soc_pct"),
            ev_energy_wanted_wh=needs.energy_wh,
            ev_departure=needs.departure,
            ev_battery_wh=needs.battery_wh,
            raw=raw,
        )


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _grade(reading: Reading | None) -> Grade:
    return Grade.LOST if reading is None or reading.value is None else reading.grade
