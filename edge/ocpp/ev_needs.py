"""OCPP 2.0.1 NotifyEVChargingNeeds, read: what the truck asks for over ISO 15118, as the
charging station passes it on. Pure: no I/O, no `ocpp` package, the wall time passed in.

Three figures are kept per EVSE: the energy the truck asks for (Wh; `energyAmount` of the DC
parameters, else of the AC ones), its departure time (RFC 3339 -> UTC epoch seconds) and
its battery's size (Wh; the DC parameters' `evEnergyCapacity`: the plan's taper,
`edge/power/planner.py`).
The energy is taken as the total the truck wants for the session from plug-in (the session
model's `energy_wanted_wh`), not what remains: a station that re-sends its needs later in
the session with what remains under-states the total, and the truck is planned short.

A value that is not usable (negative or not a number, a departure not in the future or not
a date-time with its offset) is left out and named in `Refused`; the caller logs it once.
A later message replaces the figures it gives and keeps the earlier ones it does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class EvNeeds:
    """What one EVSE's truck has asked for; None: it has not said (or said nonsense)."""

    energy_wh: float | None = None  # total for the session from plug-in
    departure: float | None = None  # UTC epoch seconds
    battery_wh: float | None = None  # the battery's size


@dataclass(frozen=True, slots=True)
class Refused:
    field: str  # the wire field, as OCPP names it ("dcChargingParameters.energyAmount")
    value: object
    why: str


def read_needs(
    needs: Mapping[str, Any], wall: float, earlier: EvNeeds | None = None
) -> tuple[EvNeeds, tuple[Refused, ...]]:
    """`needs`: the message's chargingNeeds as the `ocpp` package hands it (snake_case keys).
    The truck's needs after this message at `wall`, and the values refused."""
    refused: list[Refused] = []
    before = earlier or EvNeeds()
    energy = _energy(needs, refused)
    departure = _departure(needs.get("departure_time"), wall, refused)
    battery = _battery(needs.get("dc_charging_parameters"), refused)
    return (
        EvNeeds(
            energy if energy is not None else before.energy_wh,
            departure if departure is not None else before.departure,
            battery if battery is not None else before.battery_wh,
        ),
        tuple(refused),
    )


def _battery(params: object, refused: list[Refused]) -> float | None:
    if not isinstance(params, Mapping) or "ev_energy_capacity" not in params:
        return None
    value, field = params["ev_energy_capacity"], "dcChargingParameters.evEnergyCapacity"
    number = _number(value)
    if number is None:
        refused.append(Refused(field, value, "not a number"))
    elif number <= 0:
        refused.append(Refused(field, value, "not positive"))
    else:
        return number
    return None


def _energy(needs: Mapping[str, Any], refused: list[Refused]) -> float | None:
    for key, name in (("dc_charging_parameters", "dc"), ("ac_charging_parameters", "ac")):
        params = needs.get(key)
        if not isinstance(params, Mapping) or "energy_amount" not in params:
            continue
        value, field = params["energy_amount"], f"{name}ChargingParameters.energyAmount"
        number = _number(value)
        if number is None:
            refused.append(Refused(field, value, "not a number"))
        elif number < 0:
            refused.append(Refused(field, value, "negative"))
        else:
            return number
        return None  # the parameters that were sent are bad: the other set is not looked at
    return None


def _departure(value: object, wall: float, refused: list[Refused]) -> float | None:
    if value is None:
        return None
    field = "departureTime"
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        refused.append(Refused(field, value, "not an RFC 3339 date-time"))
        return None
    if at.tzinfo is None:
        refused.append(Refused(field, value, "no UTC offset"))
        return None
    departure = at.timestamp()
    if departure <= wall:
        refused.append(Refused(field, value, "in the past"))
        return None
    return departure


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None
