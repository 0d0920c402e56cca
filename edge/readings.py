"""Measured values with their age and quality, and the frozen snapshot a control cycle sees.

Sign convention, written once: **power at the grid connection is positive when the site
imports** (draws from the grid); generation devices report the power they produce as
positive `power_w`, chargers the power they deliver to trucks as positive `power_w`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Quality(StrEnum):
    OK = "ok"
    STALE = "stale"  # not refreshed within its stale-after time
    INVALID = "invalid"  # read but impossible (NaN, out of range, frozen counter)
    COMM_LOST = "comm_lost"  # the device did not answer


@dataclass(frozen=True, slots=True)
class Reading:
    value: float | None
    unit: str
    quality: Quality
    at: float  # monotonic seconds when read (or when the failure was seen)
    # A point read less often than the control period (energy counters every 10 s), or only
    # on change (a GPIO contact), is fresh for longer; None: the site's stale_after_s.
    stale_after_s: float | None = None

    def usable(self) -> bool:
        return self.quality is Quality.OK and self.value is not None

    def age(self, now: float) -> float:
        return max(0.0, now - self.at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every device's latest points, frozen at `taken_at`; it never changes during a cycle."""

    taken_at: float
    wall: float
    points: MappingProxyType[str, MappingProxyType[str, Reading]]

    def reading(self, device: str, point: str) -> Reading | None:
        return self.points.get(device, MappingProxyType({})).get(point)

    def value(self, device: str, point: str) -> float | None:
        """The value if it is fresh and valid, else None: callers must plan for None."""
        r = self.reading(device, point)
        return r.value if r is not None and r.usable() else None
