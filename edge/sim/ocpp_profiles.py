"""A simulated charge point's charging-profile stack: pure, version-neutral, no I/O.

What limit a connector applies at `now`, after OCPP 1.6 section 3.13 and 2.0.1 part 2 K
(smart charging): a TxProfile (of the running transaction) wins over a TxDefaultProfile,
and within a purpose the highest stack level whose validity and schedule cover `now` wins;
a profile on the connector wins over one on connector / EVSE 0 at the same stack level.
The result is then capped by the station-wide ChargePointMaxProfile (1.6) /
ChargingStationMaxProfile (2.0.1), which limits the sum over the connectors.

Installing follows 1.6's replacement rule: a profile with the same id, or with the same
purpose, stack level and connector, replaces the old one. Limits are in W; a profile in A
is converted at the charge point's DC voltage (the simulated cabinets run at 800 V).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Purpose(StrEnum):
    STATION_MAX = "station-max"  # ChargePointMaxProfile / ChargingStationMaxProfile
    TX_DEFAULT = "tx-default"
    TX = "tx"


class Kind(StrEnum):
    ABSOLUTE = "absolute"  # periods count from start_schedule
    RELATIVE = "relative"  # periods count from the transaction's start
    RECURRING = "recurring"  # from start_schedule, repeating daily or weekly


@dataclass(frozen=True, slots=True)
class SimProfile:
    """One installed charging profile, as plain data (limits already in W)."""

    id: int
    stack_level: int
    purpose: Purpose
    connector: int  # 0: the whole station
    periods: tuple[tuple[float, float], ...]  # (start s, limit W), start ascending from 0
    kind: Kind = Kind.ABSOLUTE
    transaction_id: str | None = None  # a TxProfile's transaction (None: the running one)
    start_schedule: float | None = None  # UTC epoch s; None: when it was installed
    duration_s: float | None = None  # past this the profile gives no limit
    valid_from: float | None = None
    valid_to: float | None = None
    recurrency_s: float | None = None  # 86400 (daily) or 604800 (weekly)


def install(stack: tuple[SimProfile, ...], new: SimProfile) -> tuple[SimProfile, ...]:
    """The stack with `new` in it, replacing a profile of the same id, or of the same
    purpose, stack level and connector."""

    def replaced(p: SimProfile) -> bool:
        same_slot = (p.purpose, p.stack_level, p.connector) == (
            new.purpose,
            new.stack_level,
            new.connector,
        )
        return p.id == new.id or same_slot

    return (*(p for p in stack if not replaced(p)), new)


def clear(
    stack: tuple[SimProfile, ...],
    profile_id: int | None = None,
    connector: int | None = None,
    purpose: Purpose | None = None,
    stack_level: int | None = None,
) -> tuple[tuple[SimProfile, ...], int]:
    """The stack without the profiles matching every given criterion; and how many went.
    With an id, only that profile goes (the other criteria are then ignored, as in 1.6)."""

    def matches(p: SimProfile) -> bool:
        if profile_id is not None:
            return p.id == profile_id
        return (
            (connector is None or p.connector == connector)
            and (purpose is None or p.purpose is purpose)
            and (stack_level is None or p.stack_level == stack_level)
        )

    kept = tuple(p for p in stack if not matches(p))
    return kept, len(stack) - len(kept)


def end_transaction(stack: tuple[SimProfile, ...], transaction_id: str) -> tuple[SimProfile, ...]:
    """A TxProfile lives as long as its transaction."""
    return tuple(
        p
        for p in stack
        if not (p.purpose is Purpose.TX and p.transaction_id in (None, transaction_id))
    )


def profile_limit_w(p: SimProfile, now: float, tx_start: float | None) -> float | None:
    """What `p` says at `now`, or None when it says nothing (not valid, not started, past
    its duration, or relative with no transaction)."""
    if (p.valid_from is not None and now < p.valid_from) or (
        p.valid_to is not None and now >= p.valid_to
    ):
        return None
    if p.kind is Kind.RELATIVE:
        if tx_start is None:
            return None
        start = tx_start
    else:
        start = p.start_schedule if p.start_schedule is not None else now
    elapsed = now - start
    if p.kind is Kind.RECURRING and p.recurrency_s:
        elapsed %= p.recurrency_s
    if elapsed < 0 or (p.duration_s is not None and elapsed >= p.duration_s):
        return None
    limit: float | None = None
    for begin, value in p.periods:
        if begin <= elapsed:
            limit = value
    return limit


def _best(profiles: Iterable[SimProfile], now: float, tx_start: float | None) -> float | None:
    """The limit of the highest stack level that says something; the connector's own
    profile before connector 0's at the same level."""
    ranked = sorted(profiles, key=lambda p: (p.stack_level, p.connector != 0), reverse=True)
    for p in ranked:
        limit = profile_limit_w(p, now, tx_start)
        if limit is not None:
            return limit
    return None


def connector_limit_w(
    stack: tuple[SimProfile, ...],
    connector: int,
    now: float,
    transaction_id: str | None,
    tx_start: float | None,
    *,
    with_tx_profiles: bool = True,
) -> float | None:
    """The connector's own limit (TxProfile, else TxDefaultProfile), before the station
    cap; None when no profile applies. `with_tx_profiles=False` sets TxProfiles aside (a
    charge point offline, falling back to its default profile)."""
    here = [p for p in stack if p.connector in (0, connector)]
    if with_tx_profiles and transaction_id is not None:
        tx = [
            p
            for p in here
            if p.purpose is Purpose.TX and p.transaction_id in (None, transaction_id)
        ]
        limit = _best(tx, now, tx_start)
        if limit is not None:
            return limit
    return _best((p for p in here if p.purpose is Purpose.TX_DEFAULT), now, tx_start)


def station_cap_w(stack: tuple[SimProfile, ...], now: float) -> float | None:
    """The station-wide cap (on the sum over its connectors), or None."""
    return _best((p for p in stack if p.purpose is Purpose.STATION_MAX), now, None)


def share(limits_w: dict[int, float], cap_w: float | None) -> dict[int, float]:
    """Connector limits scaled down together so their sum stays within the station cap."""
    total = sum(limits_w.values())
    if cap_w is None or total <= cap_w or total <= 0:
        return dict(limits_w)
    scale = max(0.0, cap_w) / total
    return {c: w * scale for c, w in limits_w.items()}
