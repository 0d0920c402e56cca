"""The two ways power is handed out over the tree, and the final clamp.

- `grant`: one bay at a time, in a given order (urgent trucks first);
- `water_fill`: max-min fair over a set of bays at once (fairness among equals), exact for
  nested limits: each node saturates at a water level found from the bays under it, and a
  bay's level is the lowest saturation level above it (O(n log n) per node level);
- `clamp_to_tree`: the last step of every decision, so no node is ever exceeded.

Every setpoint is 0, the charger's pause power, or within [min, max] (`Levels`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.power.constraint_tree import EPS_W, Tree


@dataclass(frozen=True, slots=True)
class Levels:
    min_w: float  # the connector's minimum while running
    max_w: float
    pause_w: float  # the smallest limit that keeps a session alive (0: the charger allows 0)

    def snap_down(self, power_w: float) -> float:
        """The largest allowed setpoint not above `power_w`."""
        if power_w >= self.min_w - EPS_W and power_w > 0:
            return min(max(power_w, self.min_w), self.max_w)
        if power_w >= self.pause_w - EPS_W:
            return self.pause_w
        return 0.0

    def allowed(self, power_w: float) -> bool:
        return (
            power_w == 0.0
            or abs(power_w - self.pause_w) <= EPS_W
            or self.min_w - EPS_W <= power_w <= self.max_w + EPS_W
        )


def _apply(tree: Tree, used: dict[str, float], bay: str, delta: float) -> None:
    for n in tree.paths[bay]:
        used[n] += delta


def grant(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    bay: str,
    target_w: float,
    levels: Levels,
) -> None:
    """Raise `bay` towards `target_w` as far as the tree allows, to an allowed level."""
    room = min(target_w - x[bay], tree.headroom(bay, used) - EPS_W)
    if room <= 0:
        return
    new = levels.snap_down(x[bay] + room)
    if new > x[bay]:
        _apply(tree, used, bay, new - x[bay])
        x[bay] = new


def water_fill(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    cap_w: Mapping[str, float],
    bays: Sequence[str],
) -> None:
    """Raise `bays` (each from x to at most cap) to equal levels, max-min fair under the tree."""
    events: dict[str, list[tuple[float, int]]] = {k: [] for k in tree.children}
    paths = tree.paths
    for b in bays:
        if cap_w[b] > x[b] + EPS_W:
            evs = events[paths[b][0]]
            evs.append((x[b], 1))
            evs.append((cap_w[b], -1))
    level: dict[str, float] = {}
    for node in tree.post_order:
        evs = events[node]
        for child in tree.children[node]:
            evs += events[child]
        if not evs:
            level[node] = math.inf
            continue
        evs.sort()
        level[node], events[node] = _saturate(evs, tree.capacity_w[node] - used[node] - EPS_W)
    for node in reversed(tree.post_order):
        top = level[node]
        for child in tree.children[node]:
            if level[child] > top:  # noqa: PLR1730 (hot path: cheaper than min())
                level[child] = top
    for b in bays:
        lo = x[b]
        new = min(max(level[paths[b][0]], lo), cap_w[b])
        if new > lo:
            for n in paths[b]:
                used[n] += new - lo
            x[b] = new


def _saturate(
    events: list[tuple[float, int]], headroom_w: float
) -> tuple[float, list[tuple[float, int]]]:
    """The water level at which the bays below use up `headroom_w`, and the events of the
    node's own (capped) fill curve for its parent."""
    if headroom_w <= 0:
        return -math.inf, []
    value, slope, prev = 0.0, 0, -math.inf
    for i, (lam, d) in enumerate(events):
        if slope:
            step = slope * (lam - prev)
            if value + step >= headroom_w:
                sat = prev + (headroom_w - value) / slope
                return sat, [*events[:i], (sat, -slope)]
            value += step
        slope += d
        prev = lam
    return math.inf, events


def clamp_to_tree(
    tree: Tree,
    x: dict[str, float],
    levels: Mapping[str, Levels],
    order: Sequence[str],
) -> dict[str, float]:
    """Cut the least urgent bays (end of `order`) until no node is exceeded; returns usage."""
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for b, p in x.items():
        if p:
            _apply(tree, used, b, p)
    for node in tree.post_order:
        excess = used[node] - tree.capacity_w[node]
        for b in reversed(order):
            if excess <= 0:
                break
            if x[b] > 0 and node in tree.paths[b]:
                new = levels[b].snap_down(x[b] - excess)
                _apply(tree, used, b, new - x[b])
                excess -= x[b] - new
                x[b] = new
    return used
