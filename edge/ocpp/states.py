"""Pure translations of what charge points report: status words onto `BayState`, and
sampled meter values onto the port's points (W, Wh, %). No I/O, no `ocpp` package.

OCPP 1.6 reports a connector's ChargePointStatus (one word holds both the plug and the
session). OCPP 2.0.1 splits them: StatusNotification's ConnectorStatus (Available, Occupied,
Reserved, Unavailable, Faulted) and TransactionEvent's ChargingState (EVConnected, Charging,
SuspendedEV, SuspendedEVSE, Idle); an occupied connector takes the session's word.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from edge.sessions import BayState

# Every word a charge point may report, by a fixed code: the process image holds numbers,
# and `LABELS` turns a code back into the word (as a profile's status labels do).
WORDS: tuple[str, ...] = (
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
    "Occupied",  # 2.0.1 ConnectorStatus, no session word known
    "EVConnected",  # 2.0.1 ChargingState
    "Idle",  # 2.0.1 ChargingState: the transaction is open, the cable out or not yet in
)
LABELS: Mapping[int, str] = dict(enumerate(WORDS))
CODE: Mapping[str, int] = {w: i for i, w in enumerate(WORDS)}

STATE: Mapping[str, BayState] = {
    "Available": BayState.AVAILABLE,
    "Reserved": BayState.AVAILABLE,  # held for someone; no truck, no session (site access owns it)
    "Preparing": BayState.OCCUPIED,
    "Occupied": BayState.OCCUPIED,
    "EVConnected": BayState.OCCUPIED,
    "Idle": BayState.OCCUPIED,
    "Charging": BayState.CHARGING,
    "SuspendedEV": BayState.SUSPENDED_EV,
    "SuspendedEVSE": BayState.SUSPENDED_EVSE,
    "Finishing": BayState.FINISHING,
    "Faulted": BayState.FAULTED,
    "Unavailable": BayState.UNAVAILABLE,
}


def bay_state(code: float | None) -> tuple[BayState, str]:
    """The BayState for a stored status code, and the word shown to the operator."""
    word = LABELS.get(int(code)) if code is not None and float(code).is_integer() else None
    if word is None:
        return BayState.UNAVAILABLE, "no status"
    return STATE[word], word


def v201_word(connector_status: str, charging_state: str | None) -> str:
    """2.0.1: the word for a connector, given its status and its transaction's charging state
    (None when no transaction runs). An Occupied connector with a session shows the session."""
    if connector_status == "Occupied" and charging_state in CODE:
        return str(charging_state)
    return connector_status


# Measurands the port uses, onto point names and the factor to the port's unit.
_MEASURANDS = {
    "Power.Active.Import": "power_w",
    "Energy.Active.Import.Register": "energy_register_wh",  # the meter, not the session
    "SoC": "ev_soc_pct",
    "Power.Offered": "power_limit_w",
}
_FACTOR = {"W": 1.0, "kW": 1000.0, "Wh": 1.0, "kWh": 1000.0, "Percent": 1.0}


def meter_points(meter_values: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """The latest total value of each measurand the port uses, in W, Wh or %; phase values,
    other locations than the outlet and unknown units are left out (never guessed).

    Takes the snake_case dicts the `ocpp` package hands over, 1.6 (`value` a string, `unit`)
    or 2.0.1 (`value` a number, `unit_of_measure` {unit, multiplier}).
    """
    out: dict[str, float] = {}
    for mv in meter_values:
        for sv in mv.get("sampled_value") or ():
            point = _MEASURANDS.get(str(sv.get("measurand", "Energy.Active.Import.Register")))
            if point is None or sv.get("phase") or sv.get("location", "Outlet") != "Outlet":
                continue
            if sv.get("format") == "SignedData":  # a signed blob: kept for billing, not read
                continue
            value = _scaled(sv, point)
            if value is not None:
                out[point] = value
    return out


def _scaled(sv: Mapping[str, Any], point: str) -> float | None:
    uom = sv.get("unit_of_measure")
    if isinstance(uom, Mapping):  # 2.0.1
        unit, multiplier = str(uom.get("unit", "")), int(uom.get("multiplier", 0))
    else:
        unit, multiplier = str(sv.get("unit", "")), 0
    if not unit:
        unit = {"power_w": "W", "power_limit_w": "W", "ev_soc_pct": "Percent"}.get(point, "Wh")
    factor = _FACTOR.get(unit)
    try:
        value = float(sv["value"])
    except (KeyError, TypeError, ValueError):
        return None
    if factor is None or not math.isfinite(value):
        return None
    return value * factor * 10.0**multiplier
