"""The allocator's building blocks as they were before the speed work (commit 69adb41),
kept as the reference the fast ones must match bit for bit (tests/test_power_reference.py).

Straightforward: the tree is rebuilt from the config on every call, `clamp_to_tree` scans
every bay for every node, the bay plans come from one plain pass. Do not optimise this file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from edge.power.allocation_model import (
    RECLAIM_HEADROOM,
    RECLAIM_MIN_HEADROOM_W,
    RECLAIM_SLACK_W,
    RESTART_GUARD_S,
    AllocationInputs,
    BayInput,
    BayPlan,
)
from edge.power.budget import MODE_RANK, NodeBudget, NodeMode
from edge.power.constraint_tree import EPS_W, Tree
from edge.power.fill import Levels
from edge.sessions import BayState, SessionKind
from edge.siteconf.model import Bay, Charger, LimitNode


def _post_order(roots: list[str], children: Mapping[str, list[str]]) -> tuple[str, ...]:
    out: list[str] = []
    stack = [(r, False) for r in reversed(roots)]
    while stack:
        key, done = stack.pop()
        if done:
            out.append(key)
            continue
        stack.append((key, True))
        stack.extend((c, False) for c in reversed(children[key]))
    return tuple(out)


def build_tree(
    limits: Iterable[LimitNode],
    chargers: Iterable[Charger],
    bays: Iterable[Bay],
    budgets: Iterable[NodeBudget],
    out_of_service: frozenset[str] = frozenset(),
) -> Tree:
    """Capacities from this period's budgets; a node without a budget gets nothing."""
    avail = {b.node: (b.available_w, b.binding) for b in budgets}
    capacity: dict[str, float] = {}
    binding: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    limit_list = list(limits)
    for node in limit_list:
        key = f"limit:{node.id}"
        capacity[key], binding[key] = avail.get(node.id, (0.0, f"limit:{node.id}"))
        children[key] = []
    for node in limit_list:
        parent = f"limit:{node.parent}" if node.parent is not None else None
        if parent in children:
            children[parent].append(f"limit:{node.id}")
        else:
            roots.append(f"limit:{node.id}")
    for ch in chargers:
        if ch.id in out_of_service or f"limit:{ch.limit}" not in children:
            continue
        key = f"charger:{ch.id}"
        capacity[key], binding[key], children[key] = ch.max_power_kw * 1000.0, key, []
        children[f"limit:{ch.limit}"].append(key)
    parent_of = {c: p for p, cs in children.items() for c in cs}
    paths, bays_at = _bay_paths(bays, children, parent_of, out_of_service)
    post_order = _post_order(roots, children)
    return Tree(
        capacity,
        binding,
        paths,
        {k: tuple(v) for k, v in children.items()},
        {k: tuple(v) for k, v in bays_at.items()},
        tuple(roots),
        post_order,
        parent_of,
        {n: i for i, n in enumerate(post_order)},
    )


def _bay_paths(
    bays: Iterable[Bay],
    children: Mapping[str, list[str]],
    parent_of: Mapping[str, str],
    out_of_service: frozenset[str],
) -> tuple[dict[str, tuple[str, ...]], dict[str, list[str]]]:
    paths: dict[str, tuple[str, ...]] = {}
    bays_at: dict[str, list[str]] = {k: [] for k in children}
    up_from: dict[str, tuple[str, ...]] = {}  # charger key -> its path: shared by its bays
    for bay in bays:
        key = f"charger:{bay.charger}"
        if bay.id in out_of_service or key not in children:
            continue
        path = up_from.get(key)
        if path is None:
            walk = [key]
            while walk[-1] in parent_of:
                walk.append(parent_of[walk[-1]])
            path = up_from[key] = tuple(walk)
        paths[bay.id] = path
        bays_at[key].append(bay.id)
    return paths, bays_at


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


def plan_bays(inputs: AllocationInputs, tree: Tree, now: float) -> dict[str, BayPlan]:
    chargers = {c.id: c for c in inputs.chargers}
    pause = {t.charger: t.pause_w for t in inputs.tuning}
    given = {b.bay: b for b in inputs.bay_inputs}
    modes = _bay_modes(inputs, tree, given)
    levels: dict[tuple[str, float], Levels] = {}  # shared by the bays of a cabinet
    out = {}
    for bay in inputs.bays:
        ch = chargers[bay.charger]
        key = (ch.id, bay.max_power_kw)
        if key not in levels:
            levels[key] = Levels(
                ch.min_power_kw * 1000.0,
                min(bay.max_power_kw, ch.max_power_kw) * 1000.0,
                pause.get(ch.id, 0.0),
            )
        b = given.get(bay.id)
        if b is None:
            b = BayInput(bay.id, BayState.UNAVAILABLE, None)
        out[bay.id] = _plan(bay, b, levels[key], tree, modes.get(bay.id), inputs, now)
    return out


def _plan(
    bay: Bay,
    b: BayInput,
    levels: Levels,
    tree: Tree,
    mode: tuple[NodeMode, float] | None,
    inputs: AllocationInputs,
    now: float,
) -> BayPlan:
    if bay.charger in inputs.out_of_service:
        return _idle(bay.id, levels, f"charger:{bay.charger}")
    if bay.id not in tree.paths or not b.state.in_session:
        return _idle(bay.id, levels, f"bay:{bay.id}")
    cap, why = levels.max_w, f"bay:{bay.id}"
    soft = _soft_cap(b)
    if soft is not None and soft < cap:
        # Below the minimum the charger cannot run: round up (the truck just draws less).
        cap = (
            soft
            if soft >= levels.min_w
            else (levels.min_w if soft > levels.pause_w else levels.pause_w)
        )
        why = "vehicle"
    if mode is not None and mode[1] < cap:
        cap, why = mode[1], f"mode:{mode[0]}"
    recent = b.last_stop_at is not None and now - b.last_stop_at < RESTART_GUARD_S
    if recent and b.previous_w == 0.0:  # stopped by us lately: restart only to run, not pause
        levels = Levels(levels.min_w, levels.max_w, 0.0)
    s = b.session
    rank = 2 if s is None else (1 if s.kind is SessionKind.OVERNIGHT else 0)
    remaining = 0.0 if s is None else s.energy_remaining_wh()
    left = math.inf if s is None else s.departure.value - now
    need, slack = _need(remaining, left, cap)
    return BayPlan(
        bay.id,
        True,
        levels,
        cap,
        why,
        rank,
        need,
        slack,
        not (recent and b.previous_w == 0.0),  # keep_alive
        recent and b.previous_w > 0.0,  # protected
        remaining,
        left,
    )


def _idle(bay: str, levels: Levels, why: str) -> BayPlan:
    return BayPlan(bay, False, levels, 0.0, why, 2, 0.0, math.inf, False, False)


def _soft_cap(b: BayInput) -> float | None:
    cap = None if b.vehicle_max_w is None else max(0.0, b.vehicle_max_w)
    if b.measured_w is not None and b.previous_w - b.measured_w > RECLAIM_SLACK_W:
        room = max(RECLAIM_MIN_HEADROOM_W, RECLAIM_HEADROOM * b.previous_w)
        drawn = max(0.0, b.measured_w) + room
        cap = drawn if cap is None or drawn < cap else cap
    return cap


def _need(remaining_wh: float, left_s: float, cap_w: float) -> tuple[float, float]:
    """(average power to finish by departure, slack at `cap_w`): `Session.slack_s`,
    inlined for speed."""
    if remaining_wh <= 0:
        return 0.0, math.inf
    if left_s <= 0:
        return math.inf, -math.inf
    if cap_w <= 0:
        return remaining_wh * 3600.0 / left_s, -math.inf
    return remaining_wh * 3600.0 / left_s, left_s - remaining_wh * 3600.0 / cap_w


def _bay_modes(
    inputs: AllocationInputs, tree: Tree, given: dict[str, BayInput]
) -> dict[str, tuple[NodeMode, float]]:
    """Per bay, the worst mode above it and the cap it implies: hold keeps the previous
    setpoint; fallback shares the node's budget equally among its sessions."""
    budgets = {f"limit:{b.node}": b for b in inputs.budgets if b.mode is not NodeMode.NORMAL}
    if not budgets:
        return {}
    active = {bay for bay in tree.paths if bay in given and given[bay].state.in_session}
    count: dict[str, int] = {}
    for bay in active:
        for n in tree.paths[bay]:
            count[n] = count.get(n, 0) + 1
    out: dict[str, tuple[NodeMode, float]] = {}
    for bay in active:
        for n in tree.paths[bay]:
            nb = budgets.get(n)
            if nb is None:
                continue
            cap = (
                given[bay].previous_w if nb.mode is NodeMode.HOLD else tree.capacity_w[n] / count[n]
            )
            old = out.get(bay)
            if old is not None:
                worst = max(old[0], nb.mode, key=MODE_RANK.__getitem__)
                cap = min(cap, old[1])
            out[bay] = (nb.mode if old is None else worst, cap)
    return out
