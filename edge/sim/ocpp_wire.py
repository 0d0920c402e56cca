"""Wire shapes shared by the simulated 1.6J and 2.0.1 charge points: a charging profile as
the `ocpp` package hands it over (snake_case dicts) to a `SimProfile`, timestamps, the
simulated signed meter reading, a truck's 2.0.1 charging needs, and where the package's
frame log goes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from edge.ocpp.wire_logger import WireLogger
from edge.sim.ocpp_profiles import Kind, Purpose, SimProfile
from edge.sim.trucks import TruckSpec

PURPOSES = {
    "ChargePointMaxProfile": Purpose.STATION_MAX,  # 1.6
    "ChargingStationMaxProfile": Purpose.STATION_MAX,  # 2.0.1
    "TxDefaultProfile": Purpose.TX_DEFAULT,
    "TxProfile": Purpose.TX,
}
_KINDS = {"Absolute": Kind.ABSOLUTE, "Relative": Kind.RELATIVE, "Recurring": Kind.RECURRING}
_RECURRENCY = {"Daily": 86_400.0, "Weekly": 604_800.0}
SIGNING_METHOD = "SIM-HMAC-SHA256"  # a simulation's stand-in, not OCMF: never trust it


class SimWireLogger(WireLogger):
    """The package logs every frame at INFO: the charge points' go to DEBUG on
    `edge.sim.ocpp_frames` (the endpoint's own go to `edge.ocpp.wire`)."""

    def __init__(self) -> None:
        logging.LoggerAdapter.__init__(self, logging.getLogger("edge.sim.ocpp_frames"), {})


class ProfileError(ValueError):
    """A charging profile the simulated charge point cannot take."""


def iso(wall: float) -> str:
    return (
        datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def wall_of(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise ProfileError(f"charging profile: {text!r} is not a date-time") from e


def to_sim_profile(d: Mapping[str, Any], connector: int, volts: float, now: float) -> SimProfile:
    """A 1.6 `csChargingProfiles` or 2.0.1 `chargingProfile` (snake_case keys) as plain
    data; limits in A become W at `volts`. A 2.0.1 profile's first schedule is used."""
    try:
        schedule = d["charging_schedule"]
        if isinstance(schedule, list):
            schedule = schedule[0]
        per_w = volts if schedule["charging_rate_unit"] == "A" else 1.0
        periods = tuple(
            (float(p["start_period"]), float(p["limit"]) * per_w)
            for p in sorted(schedule["charging_schedule_period"], key=lambda p: p["start_period"])
        )
        purpose = PURPOSES[d["charging_profile_purpose"]]
        kind = _KINDS[d["charging_profile_kind"]]
        pid = int(d["charging_profile_id"] if "charging_profile_id" in d else d["id"])
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ProfileError(f"charging profile: {e!r} ({dict(d)})") from e
    start = wall_of(schedule.get("start_schedule"))
    tx = d.get("transaction_id")
    duration = schedule.get("duration")
    return SimProfile(
        id=pid,
        stack_level=int(d["stack_level"]),
        purpose=purpose,
        connector=connector,
        periods=periods,
        kind=kind,
        transaction_id=str(tx) if tx is not None else None,
        start_schedule=start if start is not None or kind is Kind.RELATIVE else now,
        duration_s=float(duration) if duration is not None else None,
        valid_from=wall_of(d.get("valid_from")),
        valid_to=wall_of(d.get("valid_to")),
        recurrency_s=_RECURRENCY.get(str(d.get("recurrency_kind"))),
    )


def signed_reading(identity: str, connector: int, wall: float, register_wh: float) -> str:
    """A reading signed with a key derived from the identity: lets a test check that the
    charger's signed string reaches the cloud untouched. Not a real signature format."""
    body = json.dumps(
        {"cp": identity, "connector": connector, "ts": iso(wall), "wh": round(register_wh)},
        sort_keys=True,
    )
    key = hashlib.sha256(identity.encode()).digest()
    tag = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return base64.b64encode(f"{body}|{tag}".encode()).decode()


def ev_charging_needs(spec: TruckSpec, volts: float, wall: float) -> dict[str, Any]:
    """NotifyEVChargingNeeds' chargingNeeds for a DC truck: the energy it wants this visit
    (Wh, a total), its maximum power, state of charge on arrival, battery size and, when
    still ahead of `wall`, its departure."""
    dc = {
        "ev_max_current": round(spec.max_w / volts),
        "ev_max_voltage": round(volts),
        "energy_amount": round(spec.wanted_wh),
        "ev_max_power": round(spec.max_w),
        "state_of_charge": round(100.0 * spec.soc0),
        "ev_energy_capacity": round(spec.battery_wh),
    }
    needs: dict[str, Any] = {"requested_energy_transfer": "DC", "dc_charging_parameters": dc}
    if spec.leave > wall:
        needs["departure_time"] = iso(spec.leave)
    return needs
