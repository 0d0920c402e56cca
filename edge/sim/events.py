"""What happens to a simulated day at given times: faults and disturbances (pure data).

The day runner applies each at its `at` (UTC epoch s) for `duration_s`; scenario files
(`docs/scenarios.md`, `[[faults]]`) name them by `kind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.sim.plant import FaultMode


@dataclass(frozen=True, slots=True)
class ChargerFault:
    """From `at` for `duration_s`, a charger ignores or lags its setpoints."""

    at: float
    charger: str
    mode: FaultMode
    duration_s: float
    lag_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Spike:
    """A base-load step of `extra_w` from `at` for `duration_s`."""

    at: float
    extra_w: float
    duration_s: float


class MeterMode(StrEnum):
    SILENT = "silent"  # no answer: the last value ages to stale, then lost
    FROZEN = "frozen"  # answers with the same registers: flagged after `frozen_after_s`


@dataclass(frozen=True, slots=True)
class MeterFault:
    """From `at` for `duration_s`, the meter of limit node `node` is silent or frozen."""

    at: float
    node: str
    mode: MeterMode
    duration_s: float


@dataclass(frozen=True, slots=True)
class UplinkDown:
    """From `at` for `duration_s`, the cloud link is down: records wait in the outbox."""

    at: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class GridLimit:
    """From `at`, limit node `node` may import `import_kw` (a DSO curtailment, a new
    contract); for `duration_s`, then back to the site file's value."""

    at: float
    node: str
    import_kw: float
    duration_s: float


Event = ChargerFault | Spike | MeterFault | UplinkDown | GridLimit
