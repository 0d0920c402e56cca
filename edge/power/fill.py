"""The two ways power is handed out over the tree, and the final clamp.

- `grant`: one bay at a time, in a given order (urgent trucks first);
- `water_fill`: max-min fair over a set of bays at once (fairness among equals), exact for
  nested limits: each node saturates at a water level found from the bays under it, and a
  bay's level is the lowest saturation level above it (O(n log n) per node level; a node
  that cannot saturate is skipped);
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
    capacity = tree.capacity_w
    for r in tree.roots:  # noqa: SIM110 (a loop, not all(): this runs for every bay of some steps)
        if not capacity[r] - used[r] - EPS_W <= 0:
            return False
    return True


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
    top = now_w + room  # levels.snap_down(top), inlined: this runs for every bay, often twice
    if top >= levels.min_w - EPS_W and top > 0:
        new = min(max(top, levels.min_w), levels.max_w)
    else:
        new = levels.pause_w if top >= levels.pause_w - EPS_W else 0.0
    if new > now_w:
        step = new - now_w
        for n in path:
            used[n] += step
        x[bay] = new


# A node cannot saturate when its room exceeds the most its bays could take by these (far
# above float noise, far below a meter's resolution): `_rise` skips it.
_CANNOT_SATURATE_REL = 1e-9
_CANNOT_SATURATE_W = 1.0

Events = list[tuple[float, int]]  # (level, +1 a bay starts rising / -1 it stops), unsorted


def water_fill(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    cap_w: Mapping[str, float],
    bays: Sequence[str],
) -> None:
    """Raise `bays` (each from x to at most cap) to equal levels, max-min fair under the tree.
    Only the nodes above `bays` are visited: the cost follows the group, not the site; and
    a node that cannot saturate is neither sorted nor walked."""
    if full(tree, used):
        return
    paths = tree.paths
    cabinets: dict[str, tuple[Events, list[float]]] = {}  # its bays' curve, the most they take
    for b in bays:
        lo, hi = x[b], cap_w[b]
        if hi > lo + EPS_W:
            cabinet = paths[b][0]
            got = cabinets.get(cabinet)
            if got is None:
                cabinets[cabinet] = ([(lo, 1), (hi, -1)], [hi - lo])
            else:
                got[0].extend(((lo, 1), (hi, -1)))
                got[1][0] += hi - lo
    water = _levels(tree, used, cabinets)
    for b in bays:  # a bay within EPS_W of its cap takes it (float noise), as it always has
        lo = x[b]
        path = paths[b]
        level = water.get(path[0], math.inf)
        if level <= lo:  # saturated below it: it keeps what it has
            continue
        cap = cap_w[b]
        new = cap if cap < level else level  # min(level, cap), without the call
        if new > lo:
            step = new - lo
            for n in path:
                used[n] += step
            x[b] = new


def _levels(
    tree: Tree, used: Mapping[str, float], cabinets: dict[str, tuple[Events, list[float]]]
) -> dict[str, float]:
    """The water level of each cabinet in `cabinets`: the lowest at which it or a node
    above it saturates (infinite: none does). Cabinets first, then the limit nodes above
    them, children before parents, each from its children's curves."""
    parent = tree.parent
    capacity = tree.capacity_w
    level: dict[str, float] = {}  # the nodes that saturate
    chunks: dict[str, list[Events]] = {}  # per limit node, its children's fill curves
    most: dict[str, float] = {}  # per limit node, the most its bays could take in all
    for cab, (evs, total) in cabinets.items():
        room = capacity[cab] - used[cab] - EPS_W
        _rise(cab, [evs], total[0], room, parent.get(cab), level, chunks, most)
    nodes = list(chunks)  # the limit nodes above the cabinets, once
    seen = set(nodes)
    for n in nodes:
        up = parent.get(n)
        if up is not None and up not in seen:
            seen.add(up)
            nodes.append(up)
    nodes.sort(key=tree.rank.__getitem__)  # every child before its parent
    for node in nodes:
        here = chunks.get(node)
        if here:
            room = capacity[node] - used[node] - EPS_W
            _rise(node, here, most[node], room, parent.get(node), level, chunks, most)
    for node in reversed(nodes):  # a node's level is the lowest above it
        up = parent.get(node)
        above = level.get(up, math.inf) if up is not None else math.inf
        if above < level.get(node, math.inf):
            level[node] = above
    water = {}
    for cab in cabinets:
        own, above = level.get(cab, math.inf), level.get(parent.get(cab, ""), math.inf)
        water[cab] = above if above < own else own
    return water


def _rise(
    node: str,
    curves: list[Events],
    most_w: float,
    room_w: float,
    up: str | None,
    level: dict[str, float],
    chunks: dict[str, list[Events]],
    most: dict[str, float],
) -> None:
    """`node`'s saturation level from its children's `curves`, and its own (capped) curve
    handed to its parent. A node whose bays could take at most `most_w` cannot saturate if
    its room is larger: it is skipped (`_saturate` would find no level and hand the curve
    up as it is). `most_w` is summed in another order than `_saturate` sums, so it may
    differ in the last bits: the skip keeps margins far above that."""
    if room_w > most_w * (1.0 + _CANNOT_SATURATE_REL) + _CANNOT_SATURATE_W:
        out, took = curves, most_w
    else:
        evs = curves[0] if len(curves) == 1 else [e for c in curves for e in c]
        evs.sort()
        at, curve = _saturate(evs, room_w)
        if at == math.inf:
            out, took = [curve], most_w
        else:
            level[node] = at
            out, took = ([curve] if curve else []), room_w
    if up is not None and out:
        chunks.setdefault(up, []).extend(out)
        most[up] = most.get(up, 0.0) + took


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
    """Cut the least urgent bays (end of `order`) until no node is exceeded; returns usage.
    Only an exceeded node looks at its bays (`_cut`): nothing is cut in a normal period."""
    used = dict.fromkeys(tree.capacity_w, 0.0)
    paths = tree.paths
    for b, p in x.items():
        if p:
            for n in paths[b]:
                used[n] += p
    capacity = tree.capacity_w
    under: dict[str, list[str]] | None = None  # per node, its bays in `order`, least urgent first
    for node in tree.post_order:
        excess = used[node] - capacity[node]
        if excess <= 0:
            continue
        if under is None:
            under = {}
            for b in reversed(order):
                for n in paths[b]:
                    under.setdefault(n, []).append(b)
        _cut(tree, used, x, levels, under.get(node, []), excess)
    return used


def _cut(
    tree: Tree,
    used: dict[str, float],
    x: dict[str, float],
    levels: Mapping[str, Levels],
    bays: list[str],
    excess: float,
) -> None:
    for b in bays:
        if excess <= 0:
            break
        if x[b] > 0:
            new = levels[b].snap_down(x[b] - excess)
            _apply(tree, used, b, new - x[b])
            excess -= x[b] - new
            x[b] = new
