"""The site, as plain frozen data: what `load_site` returns and everything else reads.

Powers are in kW here, as a site file states them; the drivers and the core work in W
(`*_w`) and convert once at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any


class Connector(StrEnum):
    CCS = "CCS"
    MCS = "MCS"


class InletSide(StrEnum):
    LEFT = "left"
    RIGHT = "right"


class LinkType(StrEnum):
    MODBUS_TCP = "modbus-tcp"
    MODBUS_RTU = "modbus-rtu"
    CAN = "can"
    OCPP = "ocpp"
    GPIO = "gpio"
    SIMULATED = "simulated"


class DeviceKind(StrEnum):
    METER = "meter"
    INVERTER = "inverter"
    CHARGER = "charger"
    IO = "io"


def frozen_mapping(data: dict[str, Any] | None = None) -> MappingProxyType[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True, slots=True)
class Plot:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class LimitNode:
    """One node of the power-limit tree (grid connection, plot feeder, transformer...)."""

    id: str
    name: str
    parent: str | None
    import_kw: float
    export_kw: float | None
    fallback_kw: float  # what the node may carry while its meter is stale or missing
    meter: str | None
    plot: str | None


@dataclass(frozen=True, slots=True)
class Link:
    """One physical medium shared by the devices on it (a TCP endpoint, an RS-485 line...)."""

    id: str
    type: LinkType
    params: MappingProxyType[str, Any]  # transport settings as written (host, port, baud...)
    timeout_s: float
    protocol: LinkType | None = None  # for `simulated`: which real protocol the sim serves


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: DeviceKind
    profile: str
    link: str
    unit: int | None
    role: str | None  # e.g. "grid", "pv", "wind", "plot-feeder"; what its values stand for
    poll_s: float | None
    sim: MappingProxyType[str, Any] = field(default_factory=frozen_mapping)
    rated_kw: float | None = None  # an inverter's nameplate AC power (export curtailment)
    rate_unit: str | None = None  # OCPP: "W" or "A" for its profiles; None: as it reports
    max_voltage_v: float | None = None  # OCPP, A: its highest DC output voltage (W -> A)


@dataclass(frozen=True, slots=True)
class Charger:
    """A power cabinet; its bays (dispensers/connectors) share its power."""

    id: str
    limit: str  # the limit node it hangs from
    max_power_kw: float
    min_power_kw: float
    fallback_kw: float  # the cabinet's own failsafe power when the controller goes quiet
    device: str | None  # the device that controls it, when there is one
    ramp_kw_s: float = 50.0  # how fast its setpoint may rise
    ramp_down_s: float = 10.0  # after this, a commanded decrease counts as done
    pause_kw: float = 0.0  # the smallest limit that keeps a session alive (0: 0 W is fine)


@dataclass(frozen=True, slots=True)
class Bay:
    id: str
    plot: str
    charger: str
    connector: Connector
    max_power_kw: float
    inlet_sides: tuple[InletSide, ...]
    connector_id: int = 1  # which connector of its charger's device this bay is (1-based)
    occupancy_sensor: PointRef | None = None  # reads 1 while a vehicle stands on the bay


@dataclass(frozen=True, slots=True)
class PointRef:
    """`device:point`, e.g. `io-north:barrier_open`."""

    device: str
    point: str

    def __str__(self) -> str:
        return f"{self.device}:{self.point}"


class ReaderKind(StrEnum):
    ANPR = "anpr"  # a camera posting plate reads as JSON over HTTP
    QR = "qr"  # a serial QR scanner
    RFID = "rfid"  # a serial RFID card reader


@dataclass(frozen=True, slots=True)
class Reader:
    """One identification reader of a gate lane."""

    id: str
    kind: ReaderKind
    port: str | None = None  # serial device (qr, rfid)
    baud: int = 9600
    endpoint: str | None = None  # "host:port" the camera posts to (anpr)
    secret_file: Path | None = None  # the shared secret the camera sends (anpr)


@dataclass(frozen=True, slots=True)
class GateLane:
    """Inputs read 1 when present or active (loops, photocell, limit switches, hold input,
    detector fault); `barrier_output` 1 asks the drive to open and hold open."""

    id: str
    plot: str
    direction: str  # "entry" | "exit" | "both"
    barrier_output: PointRef
    vehicle_sensor: PointRef | None  # loop A, the arming loop before the boom
    safety_loop: PointRef | None  # loop B, under the boom
    reader_port: str | None
    photocell: PointRef | None = None
    position_open: PointRef | None = None  # open limit switch
    position_closed: PointRef | None = None  # closed limit switch
    hold_input: PointRef | None = None  # fire brigade / manual hold-open
    detector_fault: PointRef | None = None  # the loop detector's fault contact
    readers: tuple[Reader, ...] = ()
    run_time_s: float = 30.0  # a boom not at its limit after this is a fault
    clear_s: float = 1.0  # loop B clear this long after the vehicle: it passed
    pass_timeout_s: float = 60.0  # granted but nobody came: close once all clear
    id_timeout_s: float = 20.0  # a vehicle on loop A with no read: call staff
    decide_timeout_s: float = 5.0  # a read but no decision: call staff

    def inputs(self) -> dict[str, PointRef]:
        """The lane's configured inputs by the machine's sensor name."""
        named = {
            "loop_a": self.vehicle_sensor,
            "loop_b": self.safety_loop,
            "photocell": self.photocell,
            "opened": self.position_open,
            "closed": self.position_closed,
            "hold": self.hold_input,
            "detector_fault": self.detector_fault,
        }
        return {name: ref for name, ref in named.items() if ref is not None}


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    enabled: bool
    broker: str
    client_id: str
    topic_prefix: str
    mqtt_version: str
    keepalive_s: int
    ca_file: Path | None
    cert_file: Path | None
    key_file: Path | None
    snapshot_every_s: float = 10.0  # site snapshot telemetry period (cycles are downsampled)
    max_inflight: int = 50  # unacknowledged QoS 1 publishes; paho is fastest at 20-100
    rate_limit_msg_s: float = 0.0  # 0: no cap (cloud quotas: e.g. 100/s per connection)
    telemetry_ttl_h: float = 168.0  # telemetry older than this is dropped; events never
    session_expiry_s: int = 86_400  # broker keeps our command subscription this long offline


@dataclass(frozen=True, slots=True)
class Storage:
    state_dir: Path
    socket: Path | None  # None: the default in the runtime directory
    buffer_budget_mb: float
    event_reserve_mb: float | None = None  # None: 10 % of the budget, held for events


@dataclass(frozen=True, slots=True)
class Control:
    period_s: float
    stale_after_s: float  # a value older than this (since its last good read) is stale
    lost_after_s: float = 10.0  # ... and older than this is lost: fallback, not hold
    margin_kw: float = 0.0  # kept free under every limit node (loader default: 2 % of the root)
    plan_every_s: float = 0.0  # a new plan this often (`edge/power/planner.py`); 0: no plan


@dataclass(frozen=True, slots=True)
class Access:
    """The `[access]` table: QR public keys by key id (hex), the read screening's timings,
    the bay assignment's lead time, how long finished bookings are kept, and what an ad-hoc
    truck is taken to need and how long its bay is held."""

    qr_keys: MappingProxyType[int, str] = field(default_factory=lambda: MappingProxyType({}))
    debounce_s: float = 5.0
    max_read_age_s: float = 5.0
    max_stay_h: float = 72.0
    assign_lead_min: float = 30.0  # a bay is chosen this long before the slot starts
    keep_bookings_days: float = 30.0  # departed/cancelled/no-show bookings pruned after this
    # The connectors an ad-hoc truck that declares none may need; it is admitted only if a bay
    # would fit each (and either inlet side). None: every connector the site's bays have.
    ad_hoc_connectors: tuple[Connector, ...] | None = None
    ad_hoc_reserve_min: float = 10.0  # a bay is held this long for an admitted ad-hoc truck


@dataclass(frozen=True, slots=True)
class Authorization:
    """The `[authorization]` table: who may charge when the cloud cannot say (edge/auth/),
    after OCPP's LocalPreAuthorize, LocalAuthorizeOffline and AllowOfflineTxForUnknownId."""

    local_pre_authorize: bool = True  # a token Accepted in the local list: no cloud round trip
    offline_accept_known: bool = True  # no answer from the cloud: accept tokens listed Accepted
    offline_accept_unknown: bool = False  # ... and tokens nobody knows
    request_timeout_s: float = 5.0  # how long an `authorize` request waits for the cloud


@dataclass(frozen=True, slots=True)
class Sessions:
    """Defaults for a session nobody described (no booking): a 45-minute break or an
    overnight stay, told apart by the arrival time in the site's local time."""

    break_dwell_min: float = 45.0
    break_energy_kwh: float = 300.0
    overnight_dwell_h: float = 10.0
    overnight_energy_kwh: float = 500.0
    overnight_from_min: int = 18 * 60  # minutes after local midnight ("18:00")
    overnight_until_min: int = 6 * 60  # ("06:00"); the window may wrap past midnight
    meter_values_every_s: float = 60.0  # events/meter-values of an observed session
    # The plan's taper: a truck takes its bay's maximum up to this state of charge, then
    # linearly less, to nothing at 100 % (`edge/power/planner.py`).
    taper_from_pct: float = 80.0

    def overnight_arrival(self, minute_of_day: int) -> bool:
        """Whether a truck arriving at this local minute of the day stays overnight."""
        start, end = self.overnight_from_min, self.overnight_until_min
        if start <= end:
            return start <= minute_of_day < end
        return minute_of_day >= start or minute_of_day < end


@dataclass(frozen=True, slots=True)
class Logging:
    level: str
    areas: MappingProxyType[str, str]


@dataclass(frozen=True, slots=True)
class SiteConfig:
    path: Path
    digest: str  # sha256 of the file, reported in the birth message and `edge status`
    site_id: str
    name: str
    timezone: str
    control: Control
    plots: tuple[Plot, ...]
    limits: tuple[LimitNode, ...]
    links: tuple[Link, ...]
    devices: tuple[Device, ...]
    chargers: tuple[Charger, ...]
    bays: tuple[Bay, ...]
    gates: tuple[GateLane, ...]
    uplink: UplinkConfig
    storage: Storage
    logging: Logging
    sessions: Sessions = field(default_factory=Sessions)
    access: Access = field(default_factory=Access)
    authorization: Authorization = field(default_factory=Authorization)

    def device(self, device_id: str) -> Device:
        return next(d for d in self.devices if d.id == device_id)

    def link(self, link_id: str) -> Link:
        return next(lk for lk in self.links if lk.id == link_id)

    def root_limit(self) -> LimitNode:
        return next(n for n in self.limits if n.parent is None)
