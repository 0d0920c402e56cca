"""The version-neutral core of a simulated OCPP charge point: its connectors on the plant's
bays, its sessions, its charging-profile stack and its outbox of messages to the CSMS.

The physics is the plant's (`edge.sim.plant`): a truck arriving on a bay is what starts a
session; the charge point writes its applied limit to the bay and the plant's charger ramps
and the truck draws min(acceptance, that limit). The charge point gates the truck: 0 W
until its session starts, its profile limit while it runs.

Limits: online, a connector applies its profile stack (`edge.sim.ocpp_profiles`), or its
connector maximum when no profile applies. Offline it sets TxProfiles aside (unless
`offline_keeps_tx`) and applies its TxDefaultProfile, or without one its own
`fallback_w`, shared evenly over its connectors, as a charger's offline fallback does.

Outbox: every message for the CSMS goes through one ordered queue. Transaction messages
(start, meter values, stop, charging-state changes) stay queued while offline and go on
reconnection, with their original timestamps; status messages are only sent online (the
charge point reports its present statuses after each BootNotification).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from edge.sessions import BayState
from edge.sim import ocpp_profiles as pf
from edge.sim.ocpp_config import V201, CpConfig, CpFaults
from edge.sim.ocpp_variables import Variables
from edge.sim.ocpp_wire import PURPOSES
from edge.sim.plant import Plant
from edge.sim.trucks import Truck

log = logging.getLogger(__name__)


class Status(StrEnum):
    """A connector's status, 1.6 names (2.0.1 maps them to Available / Occupied)."""

    AVAILABLE = "Available"
    PREPARING = "Preparing"
    CHARGING = "Charging"
    SUSPENDED_EV = "SuspendedEV"
    SUSPENDED_EVSE = "SuspendedEVSE"
    FINISHING = "Finishing"


_IN_SESSION = {
    BayState.CHARGING: Status.CHARGING,
    BayState.SUSPENDED_EV: Status.SUSPENDED_EV,
    BayState.SUSPENDED_EVSE: Status.SUSPENDED_EVSE,
}


@dataclass(slots=True)
class Session:
    local_id: int  # the charge point's own number; the outbox refers to it
    id_tag: str
    start_wall: float
    register_start_wh: float
    truck: Truck
    tx_id: str | None = None  # 1.6: from the StartTransaction reply; 2.0.1: its own


@dataclass(slots=True)
class ConnectorSim:
    id: int
    bay: str
    status: Status = Status.AVAILABLE
    truck: Truck | None = None
    session: Session | None = None
    register_wh: float = 0.0  # the energy meter's register
    applied_w: float | None = None  # what was last written to the plant


@dataclass(frozen=True, slots=True)
class Item:
    """One message for the CSMS. kind: status, start, meter, stop, state."""

    kind: str
    connector: int
    wall: float
    session: int = 0  # Session.local_id
    id_tag: str = ""
    value: str = ""  # status name, stop reason, charging state
    register_wh: float = 0.0
    power_w: float = 0.0
    soc_pct: float | None = None

    @property
    def transactional(self) -> bool:
        return self.kind != "status"


class Station:
    """The charge point's state; driven by the runner (`edge.sim.ocpp_cp`) and its
    protocol handlers, stepped by `tick(now)`."""

    def __init__(self, config: CpConfig, plant: Plant, faults: CpFaults | None = None) -> None:
        self.config, self.plant = config, plant
        self.faults = faults or CpFaults()
        self.connectors = {c: ConnectorSim(c, bay) for c, bay in config.connectors.items()}
        self.profiles: tuple[pf.SimProfile, ...] = ()
        self.variables = Variables(config)  # ChangeConfiguration / SetVariables
        self.outbox: deque[Item] = deque()  # unbounded on purpose: billing data is never dropped
        self.online = False
        self.tx_ids: dict[int, str] = {}  # Session.local_id -> the CSMS's transaction id
        self.profiles_accepted = self.profiles_rejected = 0
        self._sessions = 0

    # ---- the plant's side --------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Look at the bays (arrivals, departures, charging state) and apply the limits."""
        for conn in self.connectors.values():
            sim = self.plant.bays[conn.bay]
            if sim.truck is not conn.truck:
                if conn.truck is not None:
                    self._departed(conn, now)
                if sim.truck is not None:
                    conn.truck = sim.truck
                    self._set_status(conn, Status.PREPARING, now)
                    self.start_session(conn.id, f"TRUCK-{sim.truck.spec.id}"[:20], now)
            elif conn.session is not None:
                status = _IN_SESSION.get(sim.state(), Status.CHARGING)
                if status is not conn.status:
                    self._set_status(conn, status, now)
                    self._put(Item("state", conn.id, now, conn.session.local_id, value=status))
        self.apply_limits(now)

    def start_session(self, connector: int, id_tag: str, now: float) -> bool:
        conn = self.connectors[connector]
        if conn.truck is None or conn.session is not None:
            return False
        self._sessions += 1
        conn.session = Session(self._sessions, id_tag, now, conn.register_wh, conn.truck)
        if self.config.version == V201:
            conn.session.tx_id = f"{self.config.identity}-{self._sessions}"
            self.tx_ids[self._sessions] = conn.session.tx_id
        self._put(
            Item("start", connector, now, self._sessions, id_tag, register_wh=conn.register_wh)
        )
        self._set_status(conn, Status.CHARGING, now)
        log.info(
            "ocpp_sim_session_start cp=%s connector=%d tag=%s",
            self.config.identity,
            connector,
            id_tag,
        )
        return True

    def stop_session(self, connector: int, reason: str, now: float) -> bool:
        conn = self.connectors[connector]
        s = conn.session
        if s is None:
            return False
        self._meter(conn)
        self._put(Item("stop", connector, now, s.local_id, s.id_tag, reason, conn.register_wh))
        conn.session = None
        if s.tx_id is not None:
            self.profiles = pf.end_transaction(self.profiles, s.tx_id)
        self._set_status(conn, Status.FINISHING if conn.truck else Status.AVAILABLE, now)
        self.apply_limits(now)  # the truck stops drawing at once
        log.info(
            "ocpp_sim_session_stop cp=%s connector=%d reason=%s",
            self.config.identity,
            connector,
            reason,
        )
        return True

    def _departed(self, conn: ConnectorSim, now: float) -> None:
        self.stop_session(conn.id, "EVDisconnected", now)
        conn.truck = None
        self._set_status(conn, Status.AVAILABLE, now)

    def _meter(self, conn: ConnectorSim) -> None:
        s = conn.session
        if s is not None:
            conn.register_wh = s.register_start_wh + s.truck.delivered_wh

    def meter_items(self, now: float) -> None:
        """A periodic reading of every connector in session."""
        for conn in self.connectors.values():
            s = conn.session
            if s is not None:
                self._meter(conn)
                soc = 100.0 * s.truck.soc
                self._put(
                    Item(
                        "meter",
                        conn.id,
                        now,
                        s.local_id,
                        s.id_tag,
                        "",
                        conn.register_wh,
                        s.truck.draw_w,
                        soc,
                    )
                )

    # ---- limits ------------------------------------------------------------------------

    def limits_w(self, now: float) -> dict[int, float]:
        """What each connector applies now (0 W without a session)."""
        out: dict[int, float] = {}
        fallback = self.config.fallback_w / max(1, len(self.connectors))
        with_tx = self.online or self.config.offline_keeps_tx
        for c, conn in self.connectors.items():
            s = conn.session
            if s is None:
                out[c] = 0.0
                continue
            limit = pf.connector_limit_w(
                self.profiles, c, now, s.tx_id, s.start_wall, with_tx_profiles=with_tx
            )
            if limit is None:
                limit = self.plant.bays[conn.bay].max_w if self.online else fallback
            out[c] = max(0.0, limit)
        return pf.share(out, pf.station_cap_w(self.profiles, now))

    def apply_limits(self, now: float) -> None:
        for c, limit in self.limits_w(now).items():
            conn = self.connectors[c]
            if conn.applied_w is None or abs(conn.applied_w - limit) > 1e-6:
                conn.applied_w = limit
                self.plant.write(conn.bay, limit)

    def set_profile(self, connector: int, profile: pf.SimProfile, now: float) -> str | None:
        """Install a profile; None when accepted, else why it is rejected."""
        why = self._refusal(connector, profile)
        if why is not None:
            self.profiles_rejected += 1
            log.info(
                "ocpp_sim_profile_rejected cp=%s connector=%d why=%s",
                self.config.identity,
                connector,
                why,
            )
            return why
        self.profiles_accepted += 1
        if not self.faults.ignore_profiles:
            self.profiles = pf.install(self.profiles, profile)
            self.apply_limits(now)
        return None

    def _refusal(self, connector: int, p: pf.SimProfile) -> str | None:
        if self.faults.reject_profiles:
            return "configured to reject profiles"
        if connector != 0 and connector not in self.connectors:
            return f"no connector {connector}"
        if p.purpose is pf.Purpose.STATION_MAX and connector != 0:
            return "a station maximum profile goes on connector 0"
        if p.purpose is pf.Purpose.TX:
            s = self.connectors[connector].session if connector in self.connectors else None
            if s is None:
                return "no transaction on the connector"
            if p.transaction_id is not None and p.transaction_id != s.tx_id:
                return f"transaction {p.transaction_id} is not running here"
        return None

    def clear_profiles(
        self,
        profile_id: int | None,
        connector: int | None,
        purpose: str | None,
        stack_level: int | None,
    ) -> int:
        """ClearChargingProfile (either version's criteria); how many profiles went."""
        kind = PURPOSES.get(purpose) if purpose is not None else None
        if purpose is not None and kind is None:
            return 0
        self.profiles, removed = pf.clear(self.profiles, profile_id, connector, kind, stack_level)
        return removed

    # ---- the outbox --------------------------------------------------------------------

    def _set_status(self, conn: ConnectorSim, status: Status, now: float) -> None:
        if status is not conn.status:
            conn.status = status
            self._put(Item("status", conn.id, now, value=status))

    def _put(self, item: Item) -> None:
        if item.transactional or self.online:
            self.outbox.append(item)

    def went_offline(self) -> None:
        self.online = False
        kept = [i for i in self.outbox if i.transactional]
        self.outbox.clear()
        self.outbox.extend(kept)

    def connector_of_tx(self, tx_id: str) -> int | None:
        for c, conn in self.connectors.items():
            if conn.session is not None and conn.session.tx_id == tx_id:
                return c
        return None

    def statuses(self) -> Mapping[int, Status]:
        return {c: conn.status for c, conn in self.connectors.items()}
