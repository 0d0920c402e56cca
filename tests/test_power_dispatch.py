"""Break before make: decreases at once, increases only from confirmed freed power."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.power.allocation_model import Allocation, AllocationInputs, BayInput, Setpoint
from edge.power.allocator import allocate
from edge.power.budget import BayMeasurement
from edge.power.constraint_tree import build_tree
from edge.power.dispatch_plan import (
    HYSTERESIS_W,
    DispatchPlan,
    DispatchState,
    Write,
    plan_dispatch,
)
from edge.readings import Grade
from edge.sessions import BayState, SessionKind
from tests.test_power_site import hub, inputs_for, normal_budgets, session

TOL_W = 1e-3
PERIOD_S = 1.0


def in_use(state: DispatchState, fresh: dict[str, float | None]) -> dict[str, float]:
    """Per bay, the most it may draw: setpoint, unconfirmed decrease, or measured."""
    cmd = dict(state.commanded)
    pending = {p.bay: p.from_w for p in state.ledger}
    bays = set(cmd) | set(pending) | set(fresh)
    return {b: max(cmd.get(b, 0.0), pending.get(b, 0.0), fresh.get(b) or 0.0) for b in bays}


def node_sums(inp: AllocationInputs, per_bay: dict[str, float]) -> dict[str, float]:
    tree = build_tree(inp.limits, inp.chargers, inp.bays, inp.budgets, inp.out_of_service)
    sums = dict.fromkeys(tree.capacity_w, 0.0)
    for bay, path in tree.paths.items():
        for n in path:
            sums[n] += per_bay.get(bay, 0.0)
    return sums


def check_step(
    inp: AllocationInputs,
    alloc: Allocation,
    before: DispatchState,
    plan: DispatchPlan,
    fresh: dict[str, float | None],
) -> None:
    tree = build_tree(inp.limits, inp.chargers, inp.bays, inp.budgets, inp.out_of_service)
    old, new = dict(before.commanded), dict(plan.state.commanded)
    target = alloc.power_w()
    raised = {b for b in new if new[b] > old.get(b, 0.0) + TOL_W}
    for b, now_w in new.items():  # decreases at once, to the allocation
        if target.get(b, 0.0) < old.get(b, 0.0):
            assert now_w == target.get(b, 0.0)
            assert any(p.bay == b and p.to_w == now_w for p in plan.state.ledger)
        assert now_w <= max(old.get(b, 0.0), target.get(b, 0.0)) + TOL_W
    kinds = ["down" if w.power_w < old.get(w.bay, 0.0) else "up" for w in plan.writes]
    assert kinds == sorted(kinds), plan.writes  # every decrease before any increase
    assert len({w.bay for w in plan.writes}) == len(plan.writes)
    for w in plan.writes:  # a rise is worth a write: no float crumbs
        if w.power_w > old.get(w.bay, 0.0):
            assert w.power_w - old.get(w.bay, 0.0) >= min(HYSTERESIS_W, 1_000.0)
    sums_before = node_sums(inp, in_use(before, fresh))
    sums_after = node_sums(inp, in_use(plan.state, fresh))
    for node, cap in tree.capacity_w.items():
        if any(node in tree.paths.get(b, ()) for b in raised):
            assert sums_after[node] <= cap + TOL_W, (node, sums_after[node], cap)
        else:
            assert sums_after[node] <= sums_before[node] + TOL_W


def plant(
    state: DispatchState, draw: dict[str, float], how: dict[str, str], rate_w: float
) -> dict[str, float]:
    """Trucks follow, lag (ramp down at `rate_w` per period) or ignore their setpoints."""
    out = {}
    for bay, cmd in state.commanded:
        was = draw.get(bay, 0.0)
        if how.get(bay) == "ignore":
            out[bay] = was
        elif how.get(bay) == "lag" and cmd < was:
            out[bay] = max(cmd, was - rate_w)
        else:
            out[bay] = min(cmd, was + rate_w) if cmd > was else cmd
    return out


SITE = hub(chargers=3, grid_kw=700.0, feeders_kw=(500.0,))


@st.composite
def steps(draw: st.DrawFn) -> list[tuple[AllocationInputs, dict[str, str], dict[str, Grade]]]:
    out = []
    for _ in range(draw(st.integers(1, 6))):
        budgets = tuple(
            dataclasses.replace(b, available_w=draw(st.floats(0, 800_000)))
            for b in normal_budgets(SITE)
        )
        bays = tuple(
            BayInput(
                b.id,
                draw(st.sampled_from([BayState.CHARGING, BayState.AVAILABLE])),
                session(
                    b.id, draw(st.sampled_from(list(SessionKind))), 0, draw(st.floats(1, 600)), 3000
                ),
                vehicle_max_w=draw(st.none() | st.floats(0, 400_000)),
            )
            for b in SITE[2]
        )
        how = {b.id: draw(st.sampled_from(["follow", "lag", "ignore"])) for b in SITE[2]}
        grade = {
            b.id: draw(st.sampled_from([Grade.FRESH, Grade.FRESH, Grade.STALE])) for b in SITE[2]
        }
        out.append((inputs_for(SITE, bays, budgets, pause_w=1000.0), how, grade))
    return out


@settings(max_examples=100, deadline=None)
@given(steps())
def test_increases_only_from_confirmed_headroom(
    seq: list[tuple[AllocationInputs, dict[str, str], dict[str, Grade]]],
) -> None:
    state, draw, now = DispatchState(), {}, 0.0
    for inp, how, grade in seq:
        now += PERIOD_S
        alloc = allocate(inp, now)
        fresh = {b: (draw.get(b, 0.0) if grade[b] is Grade.FRESH else None) for b in grade}
        measured = tuple(BayMeasurement(b, draw.get(b, 0.0), grade[b]) for b in grade)
        plan = plan_dispatch(inp, alloc, state, measured, now, PERIOD_S)
        check_step(inp, alloc, state, plan, fresh)
        state = plan.state
        draw = plant(state, draw, how, rate_w=50_000.0)


def two_bays_at_the_limit() -> AllocationInputs:
    """Two 400 kW bays on two chargers under a 400 kW grid connection."""
    site = hub(chargers=2, grid_kw=400.0, feeders_kw=(), bays_per_charger=1)
    bays = tuple(
        BayInput(b.id, BayState.CHARGING, session(b.id, SessionKind.BREAK, 0, 300, 2700))
        for b in site[2]
    )
    return inputs_for(site, bays)


def alloc(power: dict[str, float]) -> Allocation:
    return Allocation(
        0.0, tuple(Setpoint(b, p, "test") for b, p in power.items()), tuple(power), ()
    )


def test_make_waits_for_the_break_to_be_measured() -> None:
    inp = two_bays_at_the_limit()
    state = DispatchState((("B0000", 400_000.0), ("B0010", 0.0)))
    swap = alloc({"B0000": 0.0, "B0010": 400_000.0})
    still = (
        BayMeasurement("B0000", 400_000.0, Grade.FRESH),
        BayMeasurement("B0010", 0.0, Grade.FRESH),
    )
    plan = plan_dispatch(inp, swap, state, still, 1.0, PERIOD_S)
    assert [(w.bay, w.power_w) for w in plan.writes] == [("B0000", 0.0)]
    assert plan.held == ("B0010",)
    # B0000 is halfway down: B0010 may start, at its minimum, within what is freed.
    half = (
        BayMeasurement("B0000", 200_000.0, Grade.FRESH),
        BayMeasurement("B0010", 0.0, Grade.FRESH),
    )
    plan = plan_dispatch(inp, swap, plan.state, half, 2.0, PERIOD_S)
    assert plan.writes == ()
    done = (BayMeasurement("B0000", 0.0, Grade.FRESH), BayMeasurement("B0010", 0.0, Grade.FRESH))
    plan = plan_dispatch(inp, swap, plan.state, done, 3.0, PERIOD_S)
    assert [(w.bay, w.power_w) for w in plan.writes] == [("B0010", 50_000.0)]  # ramp_w_s x 1 s
    assert plan.state.ledger == ()


def test_a_blind_decrease_is_trusted_only_after_ramp_down_s() -> None:
    inp = two_bays_at_the_limit()  # default ramp_down_s: 10 s
    state = DispatchState((("B0000", 400_000.0), ("B0010", 0.0)))
    swap = alloc({"B0000": 0.0, "B0010": 400_000.0})
    blind = (
        BayMeasurement("B0000", 400_000.0, Grade.STALE),
        BayMeasurement("B0010", 0.0, Grade.FRESH),
    )
    plan = plan_dispatch(inp, swap, state, blind, 0.0, PERIOD_S)
    for t in range(1, 10):
        plan = plan_dispatch(inp, swap, plan.state, blind, float(t), PERIOD_S)
        assert plan.writes == ()
    plan = plan_dispatch(inp, swap, plan.state, blind, 10.0, PERIOD_S)
    assert [(w.bay, w.power_w) for w in plan.writes] == [("B0010", 50_000.0)]


def test_small_rises_are_held_back_small_drops_are_not() -> None:
    inp = two_bays_at_the_limit()
    state = DispatchState((("B0000", 100_000.0),))
    up = plan_dispatch(inp, alloc({"B0000": 100_000.0 + HYSTERESIS_W / 2}), state, (), 0.0, 1.0)
    assert up.writes == ()
    down = plan_dispatch(inp, alloc({"B0000": 100_000.0 - HYSTERESIS_W / 2}), state, (), 0.0, 1.0)
    assert [w.power_w for w in down.writes] == [100_000.0 - HYSTERESIS_W / 2]


def test_a_low_reading_does_not_confirm_a_drop_while_an_increase_is_in_flight() -> None:
    """A charger that applies setpoints late: B0000's start (50 kW) is still in flight when
    it is stopped again, so reading 0 W proves nothing; the 50 kW it may yet draw stays in
    use until the charger reports applying the start and then the stop, or the start's
    ramp_down_s has passed."""
    inp = two_bays_at_the_limit()  # 400 kW grid
    state = DispatchState((("B0000", 0.0), ("B0010", 340_000.0)))
    reads = (
        BayMeasurement("B0000", 0.0, Grade.FRESH),
        BayMeasurement("B0010", 340_000.0, Grade.FRESH),
    )
    start = plan_dispatch(
        inp, alloc({"B0000": 50_000.0, "B0010": 340_000.0}), state, reads, 1.0, 1.0
    )
    assert [(w.bay, w.power_w) for w in start.writes] == [("B0000", 50_000.0)]
    swap = alloc({"B0000": 0.0, "B0010": 400_000.0})
    plan = plan_dispatch(inp, swap, start.state, reads, 2.0, PERIOD_S)
    assert plan.writes[0] == Write("B0000", 0.0)
    room = 400_000.0 - 50_000.0  # B0010 may have what B0000's late start leaves
    assert dict(plan.state.commanded)["B0010"] <= room
    late = plan_dispatch(inp, swap, plan.state, reads, 3.0, PERIOD_S)  # B0000 still reads 0
    assert dict(late.state.commanded)["B0010"] <= room
    # The charger reporting 0 W applied proves nothing: that may be its limit before the start.
    old = plan_dispatch(inp, swap, plan.state, reads, 3.0, PERIOD_S, applied={"B0000": 0.0})
    assert dict(old.state.commanded)["B0010"] <= room
    # Reporting the start applied (writes land in order), then the stop: the drop is done.
    landed = plan_dispatch(inp, swap, plan.state, reads, 3.0, PERIOD_S, {"B0000": 50_000.0})
    assert dict(landed.state.commanded)["B0010"] <= room  # its truck may still ramp up
    told = plan_dispatch(inp, swap, landed.state, reads, 4.0, PERIOD_S, {"B0000": 0.0})
    assert dict(told.state.commanded)["B0010"] > room
    after = late
    for t in range(4, 11):
        after = plan_dispatch(inp, swap, after.state, reads, float(t), PERIOD_S)
        assert dict(after.state.commanded)["B0010"] <= room
    after = plan_dispatch(
        inp, swap, after.state, reads, 11.0, PERIOD_S
    )  # the start's ramp_down_s passed
    assert dict(after.state.commanded)["B0010"] > room
