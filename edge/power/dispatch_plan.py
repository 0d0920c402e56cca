"""Break before make: this period's setpoint writes, from the new allocation and what the
bays still draw.

- Decreases are written at once. Each one enters the ledger as power still in use (the most
  the bay may still draw, including any earlier setpoint still in flight) until it is
  confirmed: the charger's `ramp_down_s` has passed, or the bay's fresh measured power is
  down to the new setpoint while no increase of that bay is in flight and the limit its
  charger reports applying (`applied`, when it reports one) is down too. An increase is in
  flight from its write until the charger reports applying at least it, the bay is measured
  above the setpoint it replaced (with no older decrease still unconfirmed), or its
  `ramp_down_s` has passed: a charger that applies setpoints late reads low while an
  earlier increase is yet to land (and reports its old limit, which may equal the new one).
- Increases come only out of headroom that is confirmed free: every node's use counts, per
  bay, the largest of its setpoint, its unconfirmed ledger entry and its measured draw.
  Most urgent bays first (the allocation's priority); a rise is at most `ramp_w_s` x period,
  except that a start jumps straight to the connector's minimum.
- Hysteresis: a running bay is not raised by less than `HYSTERESIS_W`; decreases are never
  held back (that would exceed the allocation).

The ledger and the commanded setpoints are plain data in and out (`DispatchState`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.power.allocation_model import Allocation, AllocationInputs, ChargerTuning
from edge.power.budget import BayMeasurement
from edge.power.constraint_tree import EPS_W, Tree, build_tree
from edge.power.fill import Levels

CONFIRM_TOLERANCE_W = 1_000.0  # measured within this of the new setpoint: the drop is done
HYSTERESIS_W = 2_000.0


@dataclass(frozen=True, slots=True)
class Pending:
    """A commanded decrease not yet confirmed: the bay may still draw `from_w`."""

    bay: str
    from_w: float
    to_w: float
    since: float  # when the decrease was written (monotonic seconds)


@dataclass(frozen=True, slots=True)
class Raise:
    """An increase to `to_w` written at `since` that the charger may not have applied yet."""

    bay: str
    to_w: float
    since: float
    from_w: float = 0.0  # the setpoint it replaced: a draw above it proves the raise landed


@dataclass(frozen=True, slots=True)
class DispatchState:
    commanded: tuple[tuple[str, float], ...] = ()  # (bay, setpoint last written)
    ledger: tuple[Pending, ...] = ()
    raised: tuple[Raise, ...] = ()  # increases that may still be in flight


@dataclass(frozen=True, slots=True)
class Write:
    bay: str
    power_w: float


@dataclass(frozen=True, slots=True)
class DispatchPlan:
    writes: tuple[Write, ...]  # decreases first, then increases
    state: DispatchState
    held: tuple[str, ...]  # bays whose increase waits for confirmed freed power


def bay_levels(inputs: AllocationInputs) -> dict[str, Levels]:
    chargers = {c.id: c for c in inputs.chargers}
    tuning = {t.charger: t for t in inputs.tuning}
    out = {}
    for bay in inputs.bays:
        ch = chargers[bay.charger]
        pause = tuning.get(ch.id, ChargerTuning(ch.id)).pause_w
        out[bay.id] = Levels(
            ch.min_power_kw * 1000, min(bay.max_power_kw, ch.max_power_kw) * 1000, pause
        )
    return out


def plan_dispatch(
    inputs: AllocationInputs,
    allocation: Allocation,
    state: DispatchState,
    measured: tuple[BayMeasurement, ...],
    now: float,
    period_s: float,
    applied: Mapping[str, float] | None = None,
    rise: bool = True,
) -> DispatchPlan:
    """`applied`: per bay, the limit its charger reports applying now (fresh reports only).
    `rise=False`: decreases only (the fast path between periods, on a fresh node meter)."""
    tree = build_tree(
        inputs.limits, inputs.chargers, inputs.bays, inputs.budgets, inputs.out_of_service
    )
    tuning = {t.charger: t for t in inputs.tuning}
    tune = {b.id: tuning.get(b.charger, ChargerTuning(b.charger)) for b in inputs.bays}
    fresh = {m.bay: m.fresh_w() for m in measured}
    target = allocation.power_w()
    old = dict(state.commanded)
    cmd = {b: old.get(b, 0.0) for b in tune}
    told = applied or {}
    # A decrease written before a raise: the bay may still draw above that older limit.
    dropped_at = {p.bay: p.since for p in state.ledger}
    raised = {
        r.bay: r
        for r in state.raised
        if r.bay in tune
        and _in_flight(
            r,
            told.get(r.bay),
            None if dropped_at.get(r.bay, r.since) < r.since else fresh.get(r.bay),
            now,
            tune[r.bay].ramp_down_s,
        )
    }
    ledger = {
        p.bay: p
        for p in state.ledger
        if p.bay in tune
        and not _confirmed(p, fresh.get(p.bay), told.get(p.bay), p.bay in raised, now, tune[p.bay])
    }
    writes = _decreases(target, cmd, ledger, fresh, now)
    in_use = {b: _in_use(b, cmd, ledger, fresh) for b in cmd}
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for bay, path in tree.paths.items():
        for n in path:
            used[n] += in_use[bay]
    levels = bay_levels(inputs)
    held = []
    for bay in _increase_order(allocation, cmd) if rise else ():
        t = target.get(bay, 0.0)
        if t <= cmd[bay] or bay not in tree.paths:
            continue
        new = _raise_to(bay, cmd[bay], t, levels[bay], tune[bay], in_use[bay], tree, used, period_s)
        if new is None:
            held.append(bay)
        elif new > cmd[bay]:
            grow = max(0.0, new - in_use[bay])
            for n in tree.paths[bay]:
                used[n] += grow
            in_use[bay] += grow
            raised[bay] = Raise(bay, new, now, cmd[bay])
            cmd[bay] = new
            writes.append(Write(bay, new))
    new_state = DispatchState(
        tuple(cmd.items()),
        tuple(ledger[b] for b in sorted(ledger)),
        tuple(raised[b] for b in sorted(raised)),
    )
    return DispatchPlan(tuple(writes), new_state, tuple(held))


def _decreases(
    target: Mapping[str, float],
    cmd: dict[str, float],
    ledger: dict[str, Pending],
    fresh: Mapping[str, float | None],
    now: float,
) -> list[Write]:
    """Write every decrease at once; the ledger keeps the most the bay may still draw."""
    writes = []
    for bay, was_w in cmd.items():
        t = target.get(bay, 0.0)
        if t < was_w:
            pending = ledger[bay].from_w if bay in ledger else 0.0
            ledger[bay] = Pending(bay, max(was_w, fresh.get(bay) or 0.0, pending), t, now)
            cmd[bay] = t
            writes.append(Write(bay, t))
    return writes


def unproven_raises(
    inputs: AllocationInputs,
    state: DispatchState,
    measured: tuple[BayMeasurement, ...],
    now: float,
    applied: Mapping[str, float] | None = None,
) -> frozenset[str]:
    """Bays whose last increase is not yet seen landing: their reading says nothing about
    what the truck takes at the new setpoint, so the allocator must not reclaim from it
    (a bay read just after a raise shows its old draw, and reclaim cut it straight back)."""
    tuning = {t.charger: t for t in inputs.tuning}
    ramp_down = {
        b.id: tuning.get(b.charger, ChargerTuning(b.charger)).ramp_down_s for b in inputs.bays
    }
    fresh = {m.bay: m.fresh_w() for m in measured}
    told = applied or {}
    return frozenset(
        r.bay
        for r in state.raised
        if r.bay in ramp_down
        and _in_flight(r, told.get(r.bay), fresh.get(r.bay), now, ramp_down[r.bay])
    )


def _in_flight(
    r: Raise, applied_w: float | None, measured_w: float | None, now: float, ramp_down_s: float
) -> bool:
    """Landed once the charger reports applying at least it, or the bay is measured drawing
    more than the setpoint it replaced (chargers apply writes in order: a limit above the
    old one is this one or a later one); a lower report may predate the write, so only
    time clears it then."""
    if applied_w is not None and applied_w >= r.to_w - CONFIRM_TOLERANCE_W:
        return False
    if measured_w is not None and measured_w > r.from_w + CONFIRM_TOLERANCE_W:
        return False
    return now - r.since < ramp_down_s


def _confirmed(
    p: Pending,
    measured_w: float | None,
    applied_w: float | None,
    rising: bool,
    now: float,
    tune: ChargerTuning,
) -> bool:
    """A low reading proves the drop only when nothing higher can still land: no increase
    in flight and no higher limit reported applied (the truck could still ramp up to it)."""
    if now - p.since >= tune.ramp_down_s:
        return True
    if rising or measured_w is None or measured_w > p.to_w + CONFIRM_TOLERANCE_W:
        return False
    return applied_w is None or applied_w <= p.to_w + CONFIRM_TOLERANCE_W


def _in_use(
    bay: str,
    cmd: Mapping[str, float],
    ledger: Mapping[str, Pending],
    fresh: Mapping[str, float | None],
) -> float:
    pending = ledger[bay].from_w if bay in ledger else 0.0
    return max(cmd[bay], pending, fresh.get(bay) or 0.0)


def _increase_order(allocation: Allocation, bays: Mapping[str, float]) -> list[str]:
    first = [b for b in allocation.priority if b in bays]
    seen = set(first)
    return first + [b for b in bays if b not in seen]


def _raise_to(
    bay: str,
    current: float,
    target: float,
    levels: Levels,
    tune: ChargerTuning,
    in_use: float,
    tree: Tree,
    used: Mapping[str, float],
    period_s: float,
) -> float | None:
    """The setpoint to write now on the way up to `target`; `current` for no write (the
    step is inside the hysteresis); None when the freed power is not yet confirmed."""
    if current >= levels.min_w and target - current < HYSTERESIS_W:
        return current
    headroom = min(tree.capacity_w[n] - used[n] for n in tree.paths[bay]) - EPS_W
    if headroom < 0:  # a node above is still over (drops unconfirmed): nothing rises under it
        return None
    ceiling = in_use + headroom
    step = current + tune.ramp_w_s * period_s
    if current < levels.min_w <= target:
        step = max(step, levels.min_w)  # a start or a restart begins at the minimum
    new = levels.snap_down(min(target, step, ceiling))
    if new < current + (HYSTERESIS_W if current >= levels.min_w else EPS_W):
        return None if ceiling < min(target, step) else current  # no crumbs either
    return new
