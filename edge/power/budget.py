"""What the chargers under each limit node may draw this period, from graded meter data.

Per node: budget = limit - non-charging load - margin, where the non-charging load is the
node meter minus what the chargers under it certainly drew when the meter was read (solar
and wind under the node count through the meter, so the base load may be negative).

Readings are not taken at one instant: the meter and each charger are polled at their own
moments. A bay read after the meter while it ramps up shows more than the meter saw, and
subtracting that under-estimates the base load (in the demo by up to 200 kW, 26 % of the
limit). So each bay is paired with the meter by time (`BayMeasurement.drawn_at`): read
after the meter, it counts as the least of its readings since the last one at or before the
meter's (nothing if it has none that old); read before the meter, as its reading, or the
setpoint of a decrease written between the two (`BudgetInputs.lowered`) if that is lower.

Every input is graded:

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
    at: float | None = None  # when the value was read (monotonic s); None: time not known


Sample = tuple[float, float]  # (at, power_w): one fresh reading of a bay


@dataclass(frozen=True, slots=True)
class BayMeasurement:
    """What a bay delivers (meter or charger-reported), with its grade."""

    bay: str
    power_w: float | None
    grade: Grade
    at: float | None = None  # when `power_w` was read (monotonic s); None: time not known
    earlier: tuple[Sample, ...] = ()  # this bay's fresh readings before `at`, oldest first

    def fresh_w(self) -> float | None:
        return self.power_w if self.grade is Grade.FRESH else None

    def drawn_at(self, t: float | None, lowered_w: float | None = None) -> float:
        """What the bay certainly drew at `t` (a meter's reading time), so certainly in that
        reading: 0 when not fresh. Read after `t`, the least of its readings from the last
        one at or before `t` on (it may have been ramping up since: the least is a floor,
        ramps being monotonic between two polls), 0 when it has none that old. Read at or
        before `t`, its reading, or `lowered_w` (a decrease written after it, before `t`)
        when lower. Without times, the readings count as taken at one instant. No ramp rate
        bounds the rise since `t`: a reading can jump by a whole ramp step between polls."""
        now_w = self.fresh_w()
        if now_w is None:
            return 0.0
        if t is None or self.at is None:
            return now_w
        if self.at <= t:
            return now_w if lowered_w is None else max(0.0, min(now_w, lowered_w))
        since = [w for at, w in self.earlier if at > t]
        before = [w for at, w in self.earlier if at <= t]
        return max(0.0, min([before[-1], now_w, *since])) if before else 0.0


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
    # (bay, to_w, written_at): decreases written and not yet confirmed (the dispatch ledger)
    lowered: tuple[tuple[str, float, float], ...] = ()


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
    charging_w: float  # the bays' fresh measured sum under the node (now, not at the meter)
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
    bays = {m.bay: m for m in inputs.bay_power}
    last_base = dict(inputs.last_base_w)
    overrides: dict[str, float] = {}
    for o in inputs.overrides:
        overrides[o.node] = min(o.limit_w, overrides.get(o.node, o.limit_w))
    under = bays_under(inputs.limits, inputs.chargers, inputs.bays)
    out = []
    for node in inputs.limits:
        meter = meters.get(node.id) if node.meter is not None else None
        present = [bays[b] for b in under[node.id] if b in bays]
        charging = sum(m.fresh_w() or 0.0 for m in present)
        at_meter = _drawn_at_meter(present, meter, inputs.lowered)
        out.append(
            _budget(
                node, meter, charging, at_meter, last_base.get(node.id), inputs.margin_w, overrides
            )
        )
    return tuple(out)


def _drawn_at_meter(
    bays: list[BayMeasurement],
    meter: NodeMeasurement | None,
    lowered: tuple[tuple[str, float, float], ...],
) -> float:
    """What the bays certainly drew when the node's meter was read."""
    t = meter.at if meter is not None else None
    total = 0.0
    for m in bays:
        drops = [to_w for bay, to_w, at in lowered if bay == m.bay and t is not None and at <= t]
        total += m.drawn_at(t, min(drops) if drops else None)
    return total


def _budget(
    node: LimitNode,
    meter: NodeMeasurement | None,
    charging_w: float,
    at_meter_w: float,
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
        base = meter.power_w - at_meter_w  # never less than the base load (see above)
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
