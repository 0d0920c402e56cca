"""The unit a charge point takes its charging profiles in, and a limit in it.

Most DC chargers take W. Some accept profiles only in A (1.6 configuration key
ChargingScheduleAllowedChargingRateUnit = "Current"; 2.0.1 SmartChargingCtrlr.RateUnit =
"A"). For a DC charger a limit in A is its output current, so W -> A divides by the highest
output voltage it can deliver: at any lower voltage the same current draws less power. The
amps are rounded down to the 0.1 A a limit carries (OCPP: one digit after the point), so
the power a charger draws never exceeds the watts the control cycle asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from edge.siteconf.model import Connector


class Unit(StrEnum):
    W = "W"
    A = "A"


# The highest DC output voltage of each connector standard: CCS (IEC 61851-23) 1000 V,
# MCS (SAE J3271 / CharIN MCS) 1250 V. The default divisor when the site file gives none.
MAX_VOLTAGE_V = {Connector.CCS: 1000.0, Connector.MCS: 1250.0}


@dataclass(frozen=True, slots=True)
class Rate:
    unit: Unit = Unit.W
    max_voltage_v: float = MAX_VOLTAGE_V[Connector.MCS]
    configured: bool = False  # the site file names the unit: it is not asked of the charger


def schedule_limit(limit_w: float, rate: Rate) -> tuple[str, float]:
    """The schedule's unit and limit for a limit in W."""
    if rate.unit is Unit.W:
        return Unit.W.value, round(limit_w, 1)
    return Unit.A.value, math.floor(limit_w * 10.0 / rate.max_voltage_v) / 10.0


def reported_unit(value: str) -> Unit | None:
    """The unit to use from what a charge point reports: W when it allows W (1.6 "Power",
    2.0.1 "W"), else A when it allows A ("Current", "A"); None when it says neither."""
    words = {w.strip() for w in value.split(",")}
    if words & {"Power", "W"}:
        return Unit.W
    if words & {"Current", "A"}:
        return Unit.A
    return None
