"""Measured values with their age and quality, and the frozen snapshot a control cycle sees.

Sign convention, written once: **power at the grid connection is positive when the site
imports** (draws from the grid); generation devices report the power they produce as
positive `power_w`, chargers the power they deliver to trucks as positive `power_w`.

Two times are kept apart: `good_at`, when the value held was read, and `failed_at`, the
latest failed poll since. Control grades a value by the age of its last good read
(fresh, then stale after `control.stale_after_s`, then lost after `control.lost_after_s`),
so one failed poll does not blind it, and a device that keeps failing does.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from types import MappingProxyType


class Quality(StrEnum):
    OK = "ok"
    STALE = "stale"  # no good read within its stale-after time
    INVALID = "invalid"  # read but impossible (NaN, out of range, frozen counter)
    COMM_LOST = "comm_lost"  # no good read within the lost-after time


class Grade(StrEnum):
    """What control may do with a value: use it, hold it with caution, or plan without it."""

    FRESH = "fresh"
    STALE = "stale"
    LOST = "lost"


_GRADE = {
    Quality.OK: Grade.FRESH,
    Quality.STALE: Grade.STALE,
    Quality.INVALID: Grade.LOST,
    Quality.COMM_LOST: Grade.LOST,
}


@dataclass(frozen=True, slots=True)
class Reading:
    value: float | None
    unit: str
    quality: Quality
    at: float  # monotonic seconds when this value was read (never a failure's time)
    # A point read less often than the control period (energy counters every 10 s), or only
    # on change (a GPIO contact), is fresh for longer; None: the site's stale_after_s.
    stale_after_s: float | None = None
    failed_at: float | None = None  # the latest failed poll since this value was read

    def usable(self) -> bool:
        return self.quality is Quality.OK and self.value is not None

    def age(self, now: float) -> float:
        return max(0.0, now - self.at)

    @property
    def good_at(self) -> float | None:
        """When the last good value was read; None for an invalid value (nothing good held)."""
        return None if self.quality is Quality.INVALID else self.at

    @property
    def grade(self) -> Grade:
        return _GRADE[self.quality]


# The drivers build one Reading per point per read (about 300 a second for a small site, tens
# of thousands in the fleet benchmark). A frozen dataclass's __init__ goes through
# object.__setattr__ once per field; setting the slots through their descriptors gives the
# same object at 60 % of the cost. Reading stays frozen: only this function writes slots.
_SLOTS = ("value", "unit", "quality", "at", "stale_after_s", "failed_at")
if tuple(f.name for f in fields(Reading)) != _SLOTS:  # a field added without updating this
    raise TypeError(f"edge.readings: new_reading sets {_SLOTS}, Reading has other fields")
_new = object.__new__
_set_value, _set_unit, _set_quality, _set_at, _set_stale, _set_failed = (
    getattr(Reading, name).__set__ for name in _SLOTS
)


def new_reading(
    value: float | None,
    unit: str,
    quality: Quality,
    at: float,
    stale_after_s: float | None = None,
    failed_at: float | None = None,
) -> Reading:
    """`Reading(...)` with the same arguments, for the drivers' hot path (equal result)."""
    reading: Reading = _new(Reading)
    _set_value(reading, value)
    _set_unit(reading, unit)
    _set_quality(reading, quality)
    _set_at(reading, at)
    _set_stale(reading, stale_after_s)
    _set_failed(reading, failed_at)
    return reading


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

    def grade(self, device: str, point: str) -> Grade:
        """fresh | stale | lost; a point never read is lost."""
        r = self.reading(device, point)
        return Grade.LOST if r is None else r.grade
