"""Allocator properties over random sites, sessions, budgets and faults."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.power.allocation_model import AllocationInputs, BayInput
from edge.power.allocator import allocate
from edge.power.budget import NodeBudget, NodeMode
from edge.power.constraint_tree import build_tree, usage
from edge.power.dispatch_plan import bay_levels
from edge.sessions import BayState, SessionKind
from tests.test_power_site import hub, inputs_for, session

NOW = 100_000.0
TOL_W = 1e-3


@st.composite
def scenarios(draw: st.DrawFn) -> AllocationInputs:
    n_feeders = draw(st.integers(0, 2))
    site = hub(
        chargers=draw(st.integers(1, 6)),
        grid_kw=draw(st.floats(0, 3000)),
        feeders_kw=tuple(draw(st.floats(0, 2000)) for _ in range(n_feeders)),
        charger_kw=draw(st.sampled_from([150.0, 400.0, 1000.0])),
        min_kw=draw(st.sampled_from([0.0, 5.0, 20.0])),
        bays_per_charger=draw(st.integers(1, 3)),
    )
    budgets = tuple(
        NodeBudget(
            n.id,
            mode,
            n.import_kw * 1000,
            f"limit:{n.id}",
            0.0,
            0.0,
            draw(st.floats(0, 3_000_000)),
            "",
        )
        for n in site[0]
        for mode in [draw(st.sampled_from(list(NodeMode)))]
    )
    bays = tuple(draw(bay_inputs(b.id)) for b in site[2])
    oos = draw(st.sets(st.sampled_from([b.id for b in site[2]] + [c.id for c in site[1]])))
    pause = draw(st.sampled_from([0.0, 1000.0, 4000.0]))
    return inputs_for(site, bays, budgets, pause, frozenset(oos))


@st.composite
def bay_inputs(draw: st.DrawFn, bay: str) -> BayInput:
    state = draw(st.sampled_from(list(BayState)))
    kind = draw(st.sampled_from(list(SessionKind)))
    s = draw(
        st.none()
        | st.builds(
            lambda w, d, g: session(bay, kind, NOW - 600, w, d, g),
            st.floats(0, 1500),
            st.floats(0, 40_000),
            st.floats(0, 1500),
        )
    )
    opt_w = st.none() | st.floats(0, 1_000_000)
    return BayInput(
        bay,
        state,
        s,
        draw(opt_w),
        draw(opt_w),
        draw(st.floats(0, 500_000)),
        draw(st.none() | st.floats(NOW - 1200, NOW)),
    )


def check_tree(inp: AllocationInputs, power: dict[str, float]) -> None:
    tree = build_tree(inp.limits, inp.chargers, inp.bays, inp.budgets, inp.out_of_service)
    used = usage(tree, power)
    for node, cap in tree.capacity_w.items():
        assert used[node] <= cap + TOL_W, (node, used[node], cap)
    assert all(p == 0 for b, p in power.items() if b not in tree.paths)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_no_node_is_ever_exceeded(inp: AllocationInputs) -> None:
    check_tree(inp, allocate(inp, NOW).power_w())


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_every_setpoint_is_zero_pause_or_within_min_max(inp: AllocationInputs) -> None:
    levels = bay_levels(inp)
    for s in allocate(inp, NOW).setpoints:
        assert s.power_w >= 0
        assert levels[s.bay].allowed(s.power_w), (s, levels[s.bay])


@settings(max_examples=300, deadline=None)
@given(scenarios(), st.floats(0, 1))
def test_a_smaller_budget_never_raises_the_total(inp: AllocationInputs, f: float) -> None:
    smaller = dataclasses.replace(
        inp,
        budgets=tuple(dataclasses.replace(b, available_w=b.available_w * f) for b in inp.budgets),
    )
    assert allocate(smaller, NOW).total_w() <= allocate(inp, NOW).total_w() + TOL_W


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(inp: AllocationInputs, rnd: Any) -> None:
    shuffled = list(inp.bay_inputs)
    rnd.shuffle(shuffled)
    again = dataclasses.replace(inp, bay_inputs=tuple(shuffled))
    assert allocate(inp, NOW) == allocate(inp, NOW) == allocate(again, NOW)


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_only_sessions_in_service_get_power(inp: AllocationInputs) -> None:
    state = {b.bay: b.state for b in inp.bay_inputs}
    charger = {b.id: b.charger for b in inp.bays}
    for s in allocate(inp, NOW).setpoints:
        if not state[s.bay].in_session or {s.bay, charger[s.bay]} & inp.out_of_service:
            assert s.power_w == 0
            assert s.binding in (f"bay:{s.bay}", f"charger:{charger[s.bay]}")


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_hold_never_raises_and_fallback_gives_at_most_an_equal_share(
    inp: AllocationInputs,
) -> None:
    tree = build_tree(inp.limits, inp.chargers, inp.bays, inp.budgets, inp.out_of_service)
    given_ = {b.bay: b for b in inp.bay_inputs}
    sessions = [b for b in tree.paths if given_[b].state.in_session]
    power = allocate(inp, NOW).power_w()
    for budget in inp.budgets:
        key = f"limit:{budget.node}"
        under = [b for b in sessions if key in tree.paths[b]]
        for b in under:
            if budget.mode is NodeMode.HOLD:
                assert power[b] <= given_[b].previous_w + TOL_W
            if budget.mode is NodeMode.FALLBACK:
                assert power[b] <= budget.available_w / len(under) + TOL_W


def test_fallback_shares_the_nodes_fallback_equally_and_hold_keeps_setpoints() -> None:
    site = hub(chargers=2, grid_kw=1000.0, feeders_kw=())
    now = NOW
    bays = tuple(
        BayInput(
            b.id, BayState.CHARGING, session(b.id, SessionKind.BREAK, now, 300, 2700), previous_w=p
        )
        for b, p in zip(site[2], (50_000.0, 0.0, 250_000.0, 120_000.0), strict=True)
    )
    blind = (NodeBudget("grid", NodeMode.FALLBACK, 1e6, "mode:fallback", None, 0, 400_000, ""),)
    a = allocate(inputs_for(site, bays, blind), now)
    assert [(s.power_w, s.binding) for s in a.setpoints] == [(100_000.0, "mode:fallback")] * 4
    held = (NodeBudget("grid", NodeMode.HOLD, 1e6, "mode:hold", 0.0, 0, 900_000, ""),)
    a = allocate(inputs_for(site, bays, held), now)
    # No rise anywhere; the bay at 0 stays at 0 (a pause would be a rise too).
    assert [s.power_w for s in a.setpoints] == [50_000.0, 0.0, 250_000.0, 120_000.0]
    assert {s.binding for s in a.setpoints} == {"mode:hold"}
