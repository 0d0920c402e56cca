"""The process image: drivers write the latest readings here; the control cycle freezes it.

As in a PLC, I/O and logic are decoupled: devices poll at their own pace, and each cycle
works on one consistent, immutable copy (`freeze`), graded by the age of each value's last
good read: fresh, stale after `stale_after_s`, lost (comm_lost) after `lost_after_s`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType

from edge.readings import Quality, Reading, Snapshot


class ProcessImage:
    def __init__(self, stale_after_s: float, lost_after_s: float = 10.0) -> None:
        self._stale_after_s = stale_after_s
        self._lost_after_s = max(lost_after_s, stale_after_s)
        self._points: dict[str, dict[str, Reading]] = {}
        self._watchers: dict[str, list[Callable[[], None]]] = {}

    def watch(self, device: str, callback: Callable[[], None]) -> None:
        """Call `callback` (quick, no I/O) after every new reading of `device`: the control
        cycle acts on a node meter's fresh value at once instead of at its next period."""
        self._watchers.setdefault(device, []).append(callback)

    def put(self, device: str, point: str, reading: Reading) -> None:
        self._points.setdefault(device, {})[point] = reading
        for callback in self._watchers.get(device, ()):
            callback()

    def put_all(self, device: str, readings: Mapping[str, Reading]) -> None:
        """Every point of one read at once (the drivers' hot path): same as put() for each."""
        self._points.setdefault(device, {}).update(readings)
        for callback in self._watchers.get(device, ()):
            callback()

    def mark_device(self, device: str, at: float) -> None:
        """Record a failed poll on every known point of a device. The values and the time
        they were read are kept: `freeze` grades them by that time, not by the failure's."""
        points = self._points.get(device, {})
        for name, old in points.items():
            points[name] = replace(old, failed_at=at)

    def limits(self, reading: Reading) -> tuple[float, float]:
        """(stale, lost) ages for a reading. A point fresh for longer than the site setting
        (slow counters, edge-reported contacts) keeps its own allowance and the same window
        from stale to lost, but a contact whose device failed is not held forever."""
        stale = max(self._stale_after_s, reading.stale_after_s or 0.0)
        if math.isinf(stale) and reading.failed_at is not None:
            stale = self._stale_after_s
        return stale, self._lost_after_s + (stale - self._stale_after_s)

    def graded(self, reading: Reading, now: float) -> Reading:
        if reading.quality is Quality.INVALID:
            return reading
        stale, lost = self.limits(reading)
        age = now - reading.at
        quality = (
            Quality.OK if age <= stale else Quality.STALE if age <= lost else Quality.COMM_LOST
        )
        return reading if quality is reading.quality else replace(reading, quality=quality)

    def freeze(self, now: float, wall: float) -> Snapshot:
        frozen: dict[str, MappingProxyType[str, Reading]] = {}
        for device, points in self._points.items():
            out = {name: self.graded(r, now) for name, r in points.items()}
            frozen[device] = MappingProxyType(out)
        return Snapshot(taken_at=now, wall=wall, points=MappingProxyType(frozen))
