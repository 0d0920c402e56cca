"""Which charging profile to send, and when: pure decisions over plain data and `now`.

Profiles this endpoint keeps on every charge point (OCPP 1.6 §3.13, 2.0.1 K01):

| purpose | connector | stack | id | limit | valid to |
|---|---|---|---|---|---|
| ChargePointMaxProfile (2.0.1 ChargingStationMax) | 0 | 0 | 1 | `max_power_kw` | none |
| TxDefaultProfile (standing) | 0 | 0 | 2 | `fallback_kw` | a day, refreshed |
| TxDefaultProfile (no session) | the bay's | 1 | 100 + n | setpoint | `profile_validity_s` |
| TxProfile (session) | the bay's | 1 | 200 + n | setpoint | `profile_validity_s` |

A dynamic profile sits above the standing one and lapses by itself: when the edge stops
talking, every connector falls back to the standing default (its `fallback_kw` share)
within `profile_validity_s`, and to the cabinet cap at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    CABINET_MAX = "cabinet-max"  # 1.6 ChargePointMaxProfile, 2.0.1 ChargingStationMaxProfile
    TX_DEFAULT = "tx-default"
    TX = "tx"


CABINET_ID, STANDING_ID = 1, 2
STANDING_VALIDITY_S = 86_400  # a day; re-sent when half of it has gone


@dataclass(frozen=True, slots=True)
class ProfileOrder:
    """One SetChargingProfile to send, in the port's units (W, epoch seconds)."""

    connector: int  # 1.6 connectorId, 2.0.1 evseId; 0: the whole charge point
    purpose: Purpose
    profile_id: int
    stack_level: int
    limit_w: float
    valid_to: float | None  # UTC epoch seconds; None: until replaced
    transaction_id: str | None = None  # TxProfile only


@dataclass(frozen=True, slots=True)
class Sent:
    """The last profile a connector accepted."""

    limit_w: float
    at: float  # monotonic seconds it was accepted
    valid_to: float | None  # wall seconds
    transaction_id: str | None


@dataclass(frozen=True, slots=True)
class Rules:
    threshold_w: float
    min_interval_s: float
    validity_s: float


def bay_order(
    connector: int, limit_w: float, tx: str | None, wall: float, rules: Rules
) -> ProfileOrder:
    """The dynamic profile for one bay: a TxProfile while a transaction runs, else a
    TxDefaultProfile on its connector; stack 1, above the standing default."""
    purpose = Purpose.TX if tx is not None else Purpose.TX_DEFAULT
    base = 200 if tx is not None else 100
    valid_to = wall + rules.validity_s
    return ProfileOrder(connector, purpose, base + connector, 1, round(limit_w, 1), valid_to, tx)


def standing_orders(max_kw: float, fallback_kw: float, wall: float) -> tuple[ProfileOrder, ...]:
    """What a charge point gets at boot: its cabinet cap and the standing default, so that it
    falls to `fallback_kw` (shared by its connectors as one charge point) without us."""
    return (
        ProfileOrder(0, Purpose.CABINET_MAX, CABINET_ID, 0, round(max_kw * 1000.0, 1), None),
        ProfileOrder(
            0, Purpose.TX_DEFAULT, STANDING_ID, 0, round(fallback_kw * 1000.0, 1),
            wall + STANDING_VALIDITY_S,
        ),
    )  # fmt: skip


def standing_due(valid_to: float | None, wall: float) -> bool:
    return valid_to is None or valid_to - wall < STANDING_VALIDITY_S / 2


@dataclass(frozen=True, slots=True)
class Verdict:
    send: bool
    why: str  # "new", "moved", "refresh", "transaction", "within-threshold", "rate-limited"


def decide(
    last: Sent | None, limit_w: float, tx: str | None, now: float, wall: float, rules: Rules
) -> Verdict:
    """Whether a bay's setpoint needs a new profile.

    Send when nothing was accepted yet, the transaction changed, the limit moved by more
    than the threshold, or the profile is past half its validity (refresh). A decrease goes
    at once; an increase waits `min_interval_s` after the last accepted profile (the charge
    point may refuse faster updates, 2.0.1 K01.FR.56), and reports `rate-limited` meanwhile.
    """
    if last is None:
        return Verdict(True, "new")
    if last.transaction_id != tx:
        return Verdict(True, "transaction")
    moved = abs(limit_w - last.limit_w) > rules.threshold_w
    if moved and limit_w > last.limit_w and now - last.at < rules.min_interval_s:
        return Verdict(False, "rate-limited")
    if moved:
        return Verdict(True, "moved")
    if last.valid_to is not None and last.valid_to - wall < rules.validity_s / 2:
        return Verdict(True, "refresh")
    return Verdict(False, "within-threshold")
