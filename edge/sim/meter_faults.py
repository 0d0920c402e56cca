"""Node meters that fail in the day runner as they fail behind the drivers.

A *silent* meter stops answering: the process image keeps its last good value, graded fresh
for `control.stale_after_s`, stale until `control.lost_after_s`, then lost
(`edge/process_image.py`).
A *frozen* meter answers with the same registers: the driver flags it invalid after its
profile's `frozen_after_s` (60 s in the shipped meter profiles) and until then the frozen
value passes as fresh, as on a site. The budget decides from the grade (`edge.power.budget`).
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.power.budget import NodeMeasurement
from edge.readings import Grade
from edge.sim.events import MeterFault, MeterMode

LOST_AFTER_S = 10.0  # ProcessImage's default
FROZEN_AFTER_S = 60.0  # the meter profiles' frozen_after_s


@dataclass(slots=True)
class _Active:
    mode: MeterMode
    since: float
    until: float
    held_w: float


class MeterFaults:
    def __init__(self, stale_after_s: float, lost_after_s: float = LOST_AFTER_S) -> None:
        self.stale_after_s = stale_after_s
        self.lost_after_s = lost_after_s
        self.active: dict[str, _Active] = {}

    def start(self, ev: MeterFault, value_w: float) -> None:
        self.active[ev.node] = _Active(ev.mode, ev.at, ev.at + ev.duration_s, value_w)

    def measure(self, node: str, value_w: float, now: float) -> NodeMeasurement:
        """What the controller sees of `node`'s meter now, its true value being `value_w`."""
        f = self.active.get(node)
        if f is not None and now >= f.until:
            del self.active[node]
            f = None
        if f is None:
            return NodeMeasurement(node, value_w, Grade.FRESH)
        age = now - f.since
        if f.mode is MeterMode.FROZEN:
            if age < FROZEN_AFTER_S:
                return NodeMeasurement(node, f.held_w, Grade.FRESH)
            return NodeMeasurement(node, None, Grade.LOST)  # flagged invalid: no value
        lost_after = max(self.lost_after_s, self.stale_after_s)
        if age <= self.stale_after_s:
            grade = Grade.FRESH
        elif age <= lost_after:
            grade = Grade.STALE
        else:
            grade = Grade.LOST
        return NodeMeasurement(node, f.held_w, grade)
