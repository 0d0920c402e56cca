"""The site's limits as one tree of capacities: limit nodes -> charger cabinets -> bays.

Every constraint a bay's power passes through is a node keyed by its binding name
(`limit:<id>`, `charger:<id>`), so whatever saturates can be named as the bay's binding.
Chargers out of service drop out with their bays: they draw nothing and limit nothing.
The tree's shape depends on the config alone and is built once per site (`ConfigMemo`);
each period only fills in the budgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from edge.power.budget import NodeBudget
from edge.siteconf.model import Bay, Charger, LimitNode

T = TypeVar("T")
EPS_W = 1e-6  # float slack for "at its limit"; far below any meter's resolution


@dataclass(frozen=True, slots=True)
class Tree:
    capacity_w: Mapping[str, float]  # node key -> what the bays under it may draw in total
    binding: Mapping[str, str]  # node key -> name reported when it binds
    paths: Mapping[str, tuple[str, ...]]  # bay -> node keys from its charger up to the root
    children: Mapping[str, tuple[str, ...]]  # node key -> child node keys
    bays_at: Mapping[str, tuple[str, ...]]  # node key -> bays directly under it
    roots: tuple[str, ...]

    post_order: tuple[str, ...]  # node keys, every child before its parent
    parent: Mapping[str, str]  # node key -> its parent's (roots have none)
    rank: Mapping[str, int]  # node key -> its index in post_order

    def headroom(self, bay: str, used: Mapping[str, float]) -> float:
        cap = self.capacity_w
        room = math.inf
        for n in self.paths[bay]:
            r = cap[n] - used[n]
            if r < room:  # noqa: PLR1730 (hot path: cheaper than a min() call)
                room = r
        return room


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


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a tree takes from the config alone: built once per site (`_shape_of`)."""

    limit_keys: tuple[tuple[str, str], ...]  # (node id, node key), in config order
    capacity_w: Mapping[str, float]  # chargers' capacities; limit nodes 0 until budgeted
    binding: Mapping[str, str]
    paths: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    bays_at: Mapping[str, tuple[str, ...]]
    roots: tuple[str, ...]
    post_order: tuple[str, ...]
    parent: Mapping[str, str]
    rank: Mapping[str, int]


class ConfigMemo(Generic[T]):
    """The last few results of `build(*config)` for config objects (frozen dataclasses and
    tuples of them): what depends on the site's config alone is built once per site, not
    every period. A call matches a kept config on identity first (the daemon passes the same
    config tuples every period), then on equality; frozen objects make a match exact."""

    def __init__(self, build: Callable[..., T], kept: int = 4) -> None:
        self._build = build
        self._kept = kept  # the daemon has one site; tests and benches a few
        self._seen: list[tuple[tuple[object, ...], T]] = []  # most recently used first

    def __call__(self, *config: object) -> T:
        for i, (seen, value) in enumerate(self._seen):
            if all(a is b or a == b for a, b in zip(seen, config, strict=True)):
                if i:
                    del self._seen[i]
                    self._seen.insert(0, (config, value))
                return value
        value = self._build(*config)
        self._seen.insert(0, (config, value))
        del self._seen[self._kept :]
        return value

    def clear(self) -> None:
        """Forget every config (the benchmark's first period after a config change)."""
        self._seen.clear()


def build_tree(
    limits: Iterable[LimitNode],
    chargers: Iterable[Charger],
    bays: Iterable[Bay],
    budgets: Iterable[NodeBudget],
    out_of_service: frozenset[str] = frozenset(),
) -> Tree:
    """Capacities from this period's budgets; a node without a budget gets nothing. The
    shape (paths, order, parents) depends on the config alone, so it is built once per
    site and reused while the same (or equal) config objects come in: at 3,000 bays it
    costs as much as a tenth of an allocation."""
    shape = _shapes(tuple(limits), tuple(chargers), tuple(bays), out_of_service)
    avail = {b.node: (b.available_w, b.binding) for b in budgets}
    capacity = dict(shape.capacity_w)
    binding = dict(shape.binding)
    for node_id, key in shape.limit_keys:
        capacity[key], binding[key] = avail.get(node_id, (0.0, key))
    return Tree(
        capacity,
        binding,
        shape.paths,
        shape.children,
        shape.bays_at,
        shape.roots,
        shape.post_order,
        shape.parent,
        shape.rank,
    )


def _build_shape(
    limits: tuple[LimitNode, ...],
    chargers: tuple[Charger, ...],
    bays: tuple[Bay, ...],
    out_of_service: frozenset[str],
) -> _Shape:
    capacity: dict[str, float] = {}
    binding: dict[str, str] = {}
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    limit_keys = tuple((node.id, f"limit:{node.id}") for node in limits)
    for _, key in limit_keys:
        capacity[key], binding[key] = 0.0, key
        children[key] = []
    for node in limits:
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
    return _Shape(
        limit_keys,
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


_shapes = ConfigMemo(_build_shape)


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


def usage(tree: Tree, power_w: Mapping[str, float]) -> dict[str, float]:
    """Sum of `power_w` over the bays under each node."""
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for bay, path in tree.paths.items():
        p = power_w.get(bay, 0.0)
        if p:
            for n in path:
                used[n] += p
    return used
