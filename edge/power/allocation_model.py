"""The allocator's plain inputs and outputs, and each bay's caps and urgency for a period.

Binding names (what limits a bay), reported with every setpoint:
`limit:<id>`, `override:<id>`, `charger:<id>`, `bay:<id>` (its own maximum, or the bay idle
or out of service), `vehicle` (what the truck accepts or actually draws), `mode:<mode>`
(hold or fallback).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from edge.power.budget import MODE_RANK, NodeBudget, NodeMode
from edge.power.constraint_tree import ConfigMemo, Tree
from edge.power.fill import Levels
from edge.sessions import BayState, Session, SessionKind
from edge.siteconf.model import Bay, Charger, LimitNode

RESTART_GUARD_S = 600.0  # a DC session is stopped by us at most once per 10 minutes
RECLAIM_SLACK_W = 2_000.0  # a bay drawing this much below its setpoint gives the rest back
RECLAIM_HEADROOM = 0.1  # ... keeping 10 % of its setpoint (>= 5 kW) to grow back into
RECLAIM_MIN_HEADROOM_W = 5_000.0
NEED_MARGIN = 1.2  # acceptance falls near full: ask for a bit more than the average need


@dataclass(frozen=True, slots=True)
class ChargerTuning:
    """A charger's `pause_kw`, `ramp_kw_s` and `ramp_down_s` in W (`ChargerTuning.of`); a
    charger given none uses these defaults, which are also the site file's."""

    charger: str
    pause_w: float = 0.0  # the smallest limit that keeps a session alive
    ramp_w_s: float = 50_000.0  # how fast a setpoint may rise
    ramp_down_s: float = 10.0  # after this, a commanded decrease counts as done

    @classmethod
    def of(cls, charger: Charger) -> ChargerTuning:
        return cls(
            charger.id, charger.pause_kw * 1000.0, charger.ramp_kw_s * 1000.0, charger.ramp_down_s
        )

    @classmethod
    def of_site(cls, chargers: tuple[Charger, ...]) -> tuple[ChargerTuning, ...]:
        """`AllocationInputs.tuning` for a site's chargers."""
        return tuple(cls.of(c) for c in chargers)


@dataclass(frozen=True, slots=True)
class BayInput:
    bay: str
    state: BayState
    session: Session | None
    measured_w: float | None = None  # fresh measured draw; None when not fresh
    vehicle_max_w: float | None = None  # what the truck accepts now, when it says
    previous_w: float = 0.0  # the setpoint commanded last period
    last_stop_at: float | None = None  # when this allocator last stopped its session
    # The truck's state of charge and battery size, when known: the plan's taper
    # (`edge/power/planner.py`); `allocate` itself does not use them.
    soc_pct: float | None = None
    battery_wh: float | None = None


@dataclass(frozen=True, slots=True)
class AllocationInputs:
    limits: tuple[LimitNode, ...]
    chargers: tuple[Charger, ...]
    bays: tuple[Bay, ...]
    budgets: tuple[NodeBudget, ...]
    bay_inputs: tuple[BayInput, ...]
    tuning: tuple[ChargerTuning, ...] = ()
    out_of_service: frozenset[str] = frozenset()  # bay and charger ids
    period_s: float = 0.0  # the control period: a known want is capped at what fits in it
    # The plan's power per bay for now (`edge/power/planner.py`), None without a plan: the
    # planned bays get it first; the others are shared as without a plan.
    plan: Mapping[str, float] | None = None


@dataclass(frozen=True, slots=True)
class Setpoint:
    bay: str
    power_w: float
    binding: str


@dataclass(frozen=True, slots=True)
class Allocation:
    at: float
    setpoints: tuple[Setpoint, ...]  # one per bay, in site order
    priority: tuple[str, ...]  # bays in session, most urgent first
    stops: tuple[str, ...]  # sessions this allocation stops: record `now` as their last stop

    def power_w(self) -> dict[str, float]:
        return {s.bay: s.power_w for s in self.setpoints}

    def total_w(self) -> float:
        return sum(s.power_w for s in self.setpoints)


@dataclass(slots=True)  # internal, built per bay per period: not frozen, for speed
class BayPlan:
    bay: str
    eligible: bool
    levels: Levels
    cap_w: float
    cap_binding: str
    kind_rank: int  # 0 break/booked, 1 overnight, 2 no session known
    need_w: float  # average power to finish by departure; inf when overdue
    slack_s: float
    keep_alive: bool  # gets the pause floor
    protected: bool  # stopped < 10 min ago and running again: not to be stopped again
    remaining_wh: float = 0.0  # energy still wanted
    left_s: float = math.inf  # seconds to departure


@dataclass(frozen=True, slots=True)
class _BayStatic:
    """What a bay's plan takes from the config alone (`_statics`)."""

    bay: str
    charger: str
    levels: Levels  # shared by the bays of a cabinet with the same maximum
    bay_binding: str  # `bay:<id>`
    charger_binding: str  # `charger:<id>`


def _build_statics(
    chargers: tuple[Charger, ...], bays: tuple[Bay, ...], tuning: tuple[ChargerTuning, ...]
) -> tuple[_BayStatic, ...]:
    by_id = {c.id: c for c in chargers}
    pause = {t.charger: t.pause_w for t in tuning}
    levels: dict[tuple[str, float], Levels] = {}
    out = []
    for bay in bays:
        ch = by_id[bay.charger]
        key = (ch.id, bay.max_power_kw)
        if key not in levels:
            levels[key] = Levels(
                ch.min_power_kw * 1000.0,
                min(bay.max_power_kw, ch.max_power_kw) * 1000.0,
                pause.get(ch.id, 0.0),
            )
        out.append(_BayStatic(bay.id, ch.id, levels[key], f"bay:{bay.id}", f"charger:{ch.id}"))
    return tuple(out)


_statics = ConfigMemo(_build_statics)


def plan_bays(inputs: AllocationInputs, tree: Tree, now: float) -> dict[str, BayPlan]:
    given = {b.bay: b for b in inputs.bay_inputs}
    modes = _bay_modes(inputs, tree, given)
    paths = tree.paths
    oos = inputs.out_of_service
    out = {}
    for st in _statics(inputs.chargers, inputs.bays, inputs.tuning):
        b = given.get(st.bay)
        if st.charger in oos:
            out[st.bay] = _idle(st.bay, st.levels, st.charger_binding)
        elif b is None or st.bay not in paths or not b.state.in_session:
            out[st.bay] = _idle(st.bay, st.levels, st.bay_binding)
        else:
            out[st.bay] = _plan(st, b, modes.get(st.bay) if modes else None, now)
    return out


def _plan(st: _BayStatic, b: BayInput, mode: tuple[NodeMode, float] | None, now: float) -> BayPlan:
    """The plan of a bay in session on a charger in service."""
    levels = st.levels
    cap, why = levels.max_w, st.bay_binding
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
    stopped = recent and b.previous_w == 0.0
    if stopped:  # stopped by us lately: restart only to run, not pause
        levels = Levels(levels.min_w, levels.max_w, 0.0)
    s = b.session
    if s is None:
        rank, remaining, left = 2, 0.0, math.inf
    else:
        rank = 1 if s.kind is SessionKind.OVERNIGHT else 0
        remaining = s.energy_remaining_wh()
        left = s.departure.value - now
    need, slack = _need(remaining, left, cap)
    protected = recent and b.previous_w > 0.0
    return BayPlan(
        st.bay, True, levels, cap, why, rank, need, slack, not stopped, protected, remaining, left
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
