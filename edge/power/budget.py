"""What the chargers under each limit node may draw this period, from graded meter data.

Per node: budget = limit - non-charging load - margin, where the non-charging load is the
node meter minus the chargers' measured sum under it (solar and wind under the node count
through the meter, so the base load may be negative). Every input is graded:

- meter fresh: mode `normal`, the budget above;
- meter stale: mode `hold`, no bay under the node may rise; the budget comes from the model
  (limit - last known base load - margin, i.e. the chargers' reported power + last base load
  + margin must stay under the limit);
- meter lost, never read, not configured, or stale with no base load known yet: mode
  `fallback`, the node's `fallback_kw`, shared out by the allocator as per-bay shares.

Never fail open: a missing value makes the budget smaller, never larger. A bay whose own
measurement is not fresh counts as drawing nothing, which over-estimates the base load (the
safe side). Units: W; import positive.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from edge.readings import Grade  # fresh / stale / lost: one scale, from the readings
from edge.siteconf.model import Bay, Charger, Control, LimitNode


class NodeMode(StrEnum):
    """Worst first in `MODE_RANK`; a bay takes the worst mode among the nodes above it."""

    NORMAL = "normal"
    HOLD = "hold"
    FALLBACK = "fallback"


MODE_RANK = {NodeMode.NORMAL: 0, NodeMode.HOLD: 1, NodeMode.FALLBACK: 2}


@dataclass(frozen=True, slots=True)
class NodeMeasurement:
    """A limit node's meter: its last good power (import positive) and how old it is."""

    node: str
    power_w: float | None
    grade: Grade


@dataclass(frozen=True, slots=True)
class BayMeasurement:
    """What a bay delivers (meter or charger-reported), with its grade."""

    bay: str
    power_w: float | None
    grade: Grade

    def fresh_w(self) -> float | None:
        return self.power_w if self.grade is Grade.FRESH else None


@dataclass(frozen=True, slots=True)
class LimitOverride:
    """An operator's cap on a node (`edge limit set`); it can only lower the node's limit."""

    node: str
    limit_w: float


@dataclass(frozen=True, slots=True)
class BudgetInputs:
    limits: tuple[LimitNode, ...]
    chargers: tuple[Charger, ...]
    bays: tuple[Bay, ...]
    meters: tuple[NodeMeasurement, ...]  # by node; a node missing here is lost
    bay_power: tuple[BayMeasurement, ...]
    last_base_w: tuple[tuple[str, float], ...]  # (node, base_w) from the previous cycle
    margin_w: float  # `margin_w_of(config.control)`
    overrides: tuple[LimitOverride, ...] = ()


def margin_w_of(control: Control) -> float:
    """`BudgetInputs.margin_w` from `control.margin_kw`."""
    return control.margin_kw * 1000.0


@dataclass(frozen=True, slots=True)
class NodeBudget:
    node: str
    mode: NodeMode
    limit_w: float  # the limit in force: the configured one, or the operator's override
    binding: str  # `limit:<id>`, `override:<id>` or `mode:<mode>`
    base_w: float | None  # non-charging load (measured, or carried over in hold)
    charging_w: float  # the bays' fresh measured sum under the node
    available_w: float  # what the chargers under the node may draw in total; >= 0
    reason: str


def bays_under(
    limits: Iterable[LimitNode], chargers: Iterable[Charger], bays: Iterable[Bay]
) -> dict[str, list[str]]:
    """Bay ids under each limit node, through every level of the tree."""
    parent = {n.id: n.parent for n in limits}
    charger_limit = {c.id: c.limit for c in chargers}
    out: dict[str, list[str]] = {n: [] for n in parent}
    for bay in bays:
        node: str | None = charger_limit.get(bay.charger)
        while node is not None and node in out:
            out[node].append(bay.id)
            node = parent[node]
    return out


def node_budgets(inputs: BudgetInputs) -> tuple[NodeBudget, ...]:
    meters = {m.node: m for m in inputs.meters}
    measured = {m.bay: m.fresh_w() for m in inputs.bay_power}
    last_base = dict(inputs.last_base_w)
    overrides: dict[str, float] = {}
    for o in inputs.overrides:
        overrides[o.node] = min(o.limit_w, overrides.get(o.node, o.limit_w))
    under = bays_under(inputs.limits, inputs.chargers, inputs.bays)
    out = []
    for node in inputs.limits:
        charging = sum(measured.get(b) or 0.0 for b in under[node.id])
        meter = meters.get(node.id) if node.meter is not None else None
        out.append(
            _budget(node, meter, charging, last_base.get(node.id), inputs.margin_w, overrides)
        )
    return tuple(out)


def _budget(
    node: LimitNode,
    meter: NodeMeasurement | None,
    charging_w: float,
    last_base_w: float | None,
    margin_w: float,
    overrides: dict[str, float],
) -> NodeBudget:
    limit_w = node.import_kw * 1000.0
    binding = f"limit:{node.id}"
    if node.id in overrides and overrides[node.id] < limit_w:
        limit_w, binding = overrides[node.id], f"override:{node.id}"
    grade = meter.grade if meter is not None and meter.power_w is not None else Grade.LOST
    if grade is Grade.FRESH and meter is not None and meter.power_w is not None:
        base = meter.power_w - charging_w
        avail = max(0.0, limit_w - base - margin_w)
        return NodeBudget(node.id, NodeMode.NORMAL, limit_w, binding, base, charging_w, avail, "")
    if grade is Grade.STALE and last_base_w is not None:
        avail = max(0.0, limit_w - last_base_w - margin_w)
        why = f"meter {node.meter} stale: no increases, last base load {last_base_w:.0f} W"
        return NodeBudget(
            node.id, NodeMode.HOLD, limit_w, "mode:hold", last_base_w, charging_w, avail, why
        )
    avail = max(0.0, min(node.fallback_kw * 1000.0, limit_w))
    if node.meter is None:
        why = "no meter configured"
    elif grade is Grade.STALE:
        why = f"meter {node.meter} stale and no base load known yet"
    else:
        why = f"meter {node.meter} lost"
    return NodeBudget(
        node.id,
        NodeMode.FALLBACK,
        limit_w,
        "mode:fallback",
        last_base_w,
        charging_w,
        avail,
        f"{why}: fallback {avail / 1000:g} kW shared per bay",
    )
