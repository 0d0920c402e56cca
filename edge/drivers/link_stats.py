"""What a Modbus link counts and shows: per unit, per link, and each request as the line
saw it (for observers: tests, benchmarks, diagnostics)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.drivers.modbus_profile import Table


@dataclass(frozen=True, slots=True)
class Served:
    """One request as the line saw it, for observers (tests, benchmarks, diagnostics)."""

    unit: int
    table: Table
    address: int
    count: int
    write: bool
    outcome: str  # ok | timeout | rejected | down | backoff
    started: float
    ended: float


@dataclass(slots=True)
class UnitHealth:
    ok: int = 0
    timeouts: int = 0
    rejected: int = 0
    consecutive_failures: int = 0
    backoff_until: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class LinkStats:
    requests: int = 0
    busy_s: float = 0.0
    reconnects: int = 0
    started_at: float = 0.0
    units: dict[int, UnitHealth] = field(default_factory=dict)
