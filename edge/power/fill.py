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


def full(tree: Tree, used: Mapping[str, float]) -> bool:
    """Nothing more fits anywhere: every root is at its capacity (so `grant` and
    `water_fill` would change nothing; callers skip them)."""
    return all(tree.capacity_w[r] - used[r] - EPS_W <= 0 for r in tree.roots)


def grant(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    bay: str,
    target_w: float,
    levels: Levels,
) -> None:
    """Raise `bay` towards `target_w` as far as the tree allows, to an allowed level."""
    now_w = x[bay]
    room = target_w - now_w
    if room <= 0:
        return
    capacity = tree.capacity_w
    path = tree.paths[bay]
    for n in path:  # the headroom on the path, inlined: this runs for every bay
        r = capacity[n] - used[n] - EPS_W
        if r < room:  # noqa: PLR1730 (hot path: cheaper than min())
            room = r
    if room <= 0:
        return
    new = levels.snap_down(now_w + room)
    if new > now_w:
        for n in path:
            used[n] += new - now_w
        x[bay] = new


def water_fill(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    cap_w: Mapping[str, float],
    bays: Sequence[str],
) -> None:
    """Raise `bays` (each from x to at most cap) to equal levels, max-min fair under the tree.
    Only the nodes above `bays` are visited: the cost follows the group, not the site."""
    if full(tree, used):
        return
    paths = tree.paths
    parent = tree.parent
    active = [b for b in bays if cap_w[b] > x[b] + EPS_W]
    events: dict[str, list[tuple[float, int]]] = {}
    for b in active:
        evs = events.setdefault(paths[b][0], [])
        evs.append((x[b], 1))
        evs.append((cap_w[b], -1))
    nodes = list(events)  # the cabinets of `active` and every node above them, once
    seen = set(nodes)
    for n in nodes:
        up = parent.get(n)
        if up is not None and up not in seen:
            seen.add(up)
            nodes.append(up)
    nodes.sort(key=tree.rank.__getitem__)  # every child before its parent
    level: dict[str, float] = {}
    for node in nodes:
        here = events.get(node)
        if not here:
            level[node] = math.inf
            continue
        here.sort()
        level[node], out = _saturate(here, tree.capacity_w[node] - used[node] - EPS_W)
        up = parent.get(node)
        if up is not None and out:
            events.setdefault(up, []).extend(out)
    for node in reversed(nodes):  # a node's level is the lowest above it
        up = parent.get(node)
        if up is not None and level[up] < level[node]:
            level[node] = level[up]
    for b in bays:  # a bay within EPS_W of its cap takes it (float noise), as it always has
        lo = x[b]
        new = min(max(level.get(paths[b][0], math.inf), lo), cap_w[b])
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
