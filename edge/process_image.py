"""The process image: drivers write the latest readings here; the control cycle freezes it.

As in a PLC, I/O and logic are decoupled: devices poll at their own pace, and each cycle
works on one consistent, immutable copy (`freeze`), with ages turned into `stale` quality.
"""

from __future__ import annotations

from types import MappingProxyType

from edge.readings import Quality, Reading, Snapshot


class ProcessImage:
    def __init__(self, stale_after_s: float) -> None:
        self._stale_after_s = stale_after_s
        self._points: dict[str, dict[str, Reading]] = {}

    def put(self, device: str, point: str, reading: Reading) -> None:
        self._points.setdefault(device, {})[point] = reading

    def mark_device(self, device: str, quality: Quality, at: float) -> None:
        """Flag every known point of a device (e.g. comm_lost), keeping the last values for
        display but never for control."""
        points = self._points.get(device, {})
        for name, old in points.items():
            points[name] = Reading(old.value, old.unit, quality, at)

    def freeze(self, now: float, wall: float) -> Snapshot:
        frozen: dict[str, MappingProxyType[str, Reading]] = {}
        for device, points in self._points.items():
            out: dict[str, Reading] = {}
            for name, r in points.items():
                limit = max(self._stale_after_s, r.stale_after_s or 0.0)
                if r.quality is Quality.OK and now - r.at > limit:
                    out[name] = Reading(r.value, r.unit, Quality.STALE, r.at)
                else:
                    out[name] = r
            frozen[device] = MappingProxyType(out)
        return Snapshot(taken_at=now, wall=wall, points=MappingProxyType(frozen))
