"""A simulated OCPP charge point's configuration and its injectable faults (plain data)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

V16, V201 = "1.6", "2.0.1"


@dataclass(frozen=True, slots=True)
class CpConfig:
    """One simulated charge point. `connectors` maps its connectorId (1.6) / EVSE id
    (2.0.1) to the plant bay it stands for (`bays[].connector_id` -> `bays[].id`)."""

    identity: str  # the charger's device id in the site file
    connectors: Mapping[int, str]
    version: str = V16  # "1.6" or "2.0.1"
    password: str | None = None  # HTTP Basic password (user = identity); None: no header
    heartbeat_s: float = 60.0  # until the BootNotification reply gives an interval
    meter_every_s: float = 10.0  # MeterValues (1.6) / TransactionEvent Updated (2.0.1)
    fallback_w: float = 0.0  # offline without a TxDefaultProfile: the whole station's limit
    offline_keeps_tx: bool = False  # offline, keep applying TxProfiles
    volts: float = 800.0  # converts profiles in A to W
    signed_meter: bool = False  # attach a (simulation-only) signed reading
    # 2.0.1: send NotifyEVChargingNeeds after a transaction starts, as an ISO 15118 truck
    # would (the truck's energy wanted, departure, maximum power and state of charge)
    ev_needs: bool = False
    tick_s: float = 0.2  # how often it looks at its bays and applies its limits
    response_timeout_s: float = 10.0
    backoff_s: tuple[float, float] = (0.5, 30.0)  # reconnection backoff: first, most
    vendor: str = "edge-sim"
    model: str = "sim-dc-cabinet"
    firmware: str = "sim-1.0"


@dataclass(slots=True)
class CpFaults:
    """Injected misbehaviour; change the fields while the charge point runs."""

    reject_profiles: bool = False  # SetChargingProfile -> Rejected
    ignore_profiles: bool = False  # Accepted, but the limit is never applied
    reply_delay_s: float = 0.0  # answer every CSMS request this late
    offline: bool = False  # stay disconnected (set by `disconnect`, cleared to return)
