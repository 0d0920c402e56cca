"""The fast allocator matches the straightforward reference (tests/power_reference.py) bit
for bit: same setpoints to the last bit of each float, same bindings, order and stops.

`allocate` and the baselines run twice on each input, once as they are and once with their
building blocks (tree, bay plans, grant, water-filling, clamp) swapped for the reference's.
Sites have limit trees of any shape (several roots, chargers on any node), ties in slack
(equal sessions share, water-filled) and a run of periods over the same config objects,
then over an equal copy and a changed config, so that a cached tree is never stale.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

import tests.power_reference as ref
from edge.power import allocation_model, allocator, baselines, fill
from edge.power.allocation_model import AllocationInputs, BayInput, ChargerTuning
from edge.power.budget import NodeBudget, NodeMode
from edge.power.constraint_tree import Tree, build_tree
from edge.sessions import BayState, SessionKind
from edge.siteconf.model import Bay, Charger, Connector, InletSide, LimitNode
from tests.test_power_allocator import scenarios
from tests.test_power_site import session

NOW = 100_000.0
Site = tuple[tuple[LimitNode, ...], tuple[Charger, ...], tuple[Bay, ...]]

_BLOCKS = {
    "build_tree": ref.build_tree,
    "plan_bays": ref.plan_bays,
    "grant": ref.grant,
    "water_fill": ref.water_fill,
    "clamp_to_tree": ref.clamp_to_tree,
    "full": ref.full,
}


@contextmanager
def reference_blocks() -> Iterator[None]:
    """The allocator and the baselines built from the reference's blocks."""
    with (
        mock.patch.multiple(allocator, **_BLOCKS),
        mock.patch.multiple(
            baselines,
            **{k: v for k, v in _BLOCKS.items() if k != "full"},
        ),
    ):
        yield


def bits(a: allocation_model.Allocation) -> tuple[object, ...]:
    """Everything in an allocation, floats as their exact bits (so 0.0 != -0.0)."""
    rows = tuple((s.bay, s.power_w.hex(), s.binding) for s in a.setpoints)
    return (a.at.hex(), rows, a.priority, a.stops)


def outcomes(inp: AllocationInputs) -> tuple[object, ...]:
    return (
        bits(allocator.allocate(inp, NOW)),
        bits(baselines.first_come_first_served(inp, NOW)),
        bits(baselines.equal_shares(inp, NOW)),
        bits(baselines.earliest_deadline_first(inp, NOW)),
    )


def assert_matches_reference(inp: AllocationInputs) -> None:
    fast = outcomes(inp)
    with reference_blocks():
        slow = outcomes(inp)
    assert fast == slow


def tree_fields(t: Tree) -> tuple[object, ...]:
    """A tree's every field, mappings in their iteration order (it decides float sums)."""
    out: list[object] = []
    for f in dataclasses.fields(t):
        v = getattr(t, f.name)
        out.append(list(v.items()) if hasattr(v, "items") else v)
    return tuple(out)


@st.composite
def sites(draw: st.DrawFn) -> Site:
    """Limit trees of any shape: each node under an earlier one or a root of its own."""
    n_limits = draw(st.integers(1, 5))
    limits = []
    for i in range(n_limits):
        parent = draw(st.none() | st.sampled_from([f"n{j}" for j in range(i)] or [None]))
        kw = draw(st.sampled_from([0.0, 150.0, 400.0, 800.0, 3500.0]))
        limits.append(LimitNode(f"n{i}", f"n{i}", parent, kw, None, kw * 0.4, None, None))
    chargers, bays = [], []
    for c in range(draw(st.integers(1, 8))):
        kw = draw(st.sampled_from([150.0, 400.0, 1000.0]))
        min_kw = draw(st.sampled_from([0.0, 5.0, 20.0]))
        chargers.append(
            Charger(f"c{c}", f"n{draw(st.integers(0, n_limits - 1))}", kw, min_kw, 50, None)
        )
        for k in range(draw(st.integers(1, 3))):
            bay_kw = draw(st.sampled_from([kw, 100.0, 350.0]))
            bays.append(Bay(f"b{c}-{k}", "p", f"c{c}", Connector.CCS, bay_kw, (InletSide.LEFT,)))
    return tuple(limits), tuple(chargers), tuple(bays)


@st.composite
def period(draw: st.DrawFn, site: Site) -> AllocationInputs:
    """One period's data over `site`: budgets, sessions (few distinct ones: ties), faults."""
    limits, chargers, bays = site
    budgets = tuple(
        NodeBudget(
            n.id,
            draw(st.sampled_from(list(NodeMode))),
            n.import_kw * 1000,
            f"limit:{n.id}",
            0.0,
            0.0,
            draw(st.sampled_from([0.0, 50_000.0, 400_000.0, 1_000_000.0]) | st.floats(0, 4e6)),
            "",
        )
        for n in limits
        if draw(st.integers(0, 9)) > 0  # now and then a node without a budget: nothing
    )
    bay_inputs = tuple(draw(bay_input(b.id)) for b in bays if draw(st.integers(0, 9)) > 0)
    ids = [b.id for b in bays] + [c.id for c in chargers]
    oos = frozenset(draw(st.sets(st.sampled_from(ids), max_size=3)))
    tuning = tuple(
        ChargerTuning(c.id, pause_w=draw(st.sampled_from([0.0, 1000.0, 4000.0])))
        for c in chargers
        if draw(st.booleans())
    )
    return AllocationInputs(limits, chargers, bays, budgets, bay_inputs, tuning, oos)


@st.composite
def bay_input(draw: st.DrawFn, bay: str) -> BayInput:
    state = draw(st.sampled_from([BayState.CHARGING, BayState.SUSPENDED_EV, *BayState]))
    kind = draw(st.sampled_from(list(SessionKind)))
    wanted = draw(st.sampled_from([100.0, 300.0]) | st.floats(0, 1500))
    dwell = draw(st.sampled_from([2700.0, 36_000.0, 0.0]) | st.floats(-100, 40_000))
    got = draw(st.sampled_from([0.0, 50.0]) | st.floats(0, 1500))
    s = draw(st.none() | st.just(session(bay, kind, NOW - 600, wanted, dwell, got)))
    opt_w = st.none() | st.sampled_from([0.0, 200_000.0]) | st.floats(0, 1_000_000)
    return BayInput(
        bay,
        state,
        s,
        draw(opt_w),
        draw(opt_w),
        draw(st.sampled_from([0.0, 400_000.0]) | st.floats(0, 500_000)),
        draw(st.none() | st.floats(NOW - 1200, NOW)),
    )


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_the_allocator_matches_the_reference_on_the_property_sites(
    inp: AllocationInputs,
) -> None:
    assert_matches_reference(inp)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_the_allocator_matches_the_reference_period_after_period(data: st.DataObject) -> None:
    site = data.draw(sites())
    for _ in range(3):  # the same config objects: the static tree is reused
        assert_matches_reference(data.draw(period(site)))
    same = copy.deepcopy(site)  # equal, not identical
    assert_matches_reference(data.draw(period(same)))
    changed = data.draw(sites())  # another config: nothing of the first may leak into it
    assert_matches_reference(data.draw(period(changed)))
    assert_matches_reference(data.draw(period(site)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_tree_matches_the_reference_field_by_field(data: st.DataObject) -> None:
    site = data.draw(sites())
    for s in (site, site, copy.deepcopy(site), data.draw(sites()), site):
        ids = [b.id for b in s[2]] + [c.id for c in s[1]]
        oos = frozenset(data.draw(st.sets(st.sampled_from(ids), max_size=3)))
        budgets = tuple(
            NodeBudget(n.id, NodeMode.NORMAL, 1e6, f"limit:{n.id}", 0.0, 0.0, w, "")
            for n in s[0]
            for w in [data.draw(st.floats(0, 4e6))]
        )
        args = (*s, budgets, oos)
        assert tree_fields(build_tree(*args)) == tree_fields(ref.build_tree(*args))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_the_clamp_matches_the_reference_when_it_cuts(data: st.DataObject) -> None:
    # The allocator seldom leaves anything to cut (float noise at most): here every bay
    # asks for anything, so most nodes are exceeded, in any order of urgency.
    inp = data.draw(period(data.draw(sites())))
    tree = build_tree(inp.limits, inp.chargers, inp.bays, inp.budgets, inp.out_of_service)
    order = data.draw(st.permutations(list(tree.paths)))
    x = {b.id: 0.0 for b in inp.bays}
    for b in order:
        x[b] = data.draw(st.sampled_from([0.0, 1000.0, 400_000.0]) | st.floats(0, 1e6))
    levels = {p.bay: p.levels for p in allocation_model.plan_bays(inp, tree, NOW).values()}
    fast_x, slow_x = dict(x), dict(x)
    fast = fill.clamp_to_tree(tree, fast_x, levels, order)
    slow = ref.clamp_to_tree(tree, slow_x, levels, order)
    assert [(k, v.hex()) for k, v in fast.items()] == [(k, v.hex()) for k, v in slow.items()]
    assert [(k, v.hex()) for k, v in fast_x.items()] == [(k, v.hex()) for k, v in slow_x.items()]


def test_a_bay_within_float_noise_of_its_cap_takes_it_under_a_saturated_feeder() -> None:
    # Bay b0-0 is within EPS_W of its cap (not rising) and alone on its cabinet; the feeder
    # above saturates through b1-0. As always, b0-0 takes its cap (the last 0.5 uW).
    limits = (LimitNode("n0", "n0", None, 200.0, None, 40.0, None, None),)
    chargers = (Charger("c0", "n0", 400, 0, 50, None), Charger("c1", "n0", 400, 0, 50, None))
    bays = tuple(
        Bay(f"b{c}-0", "p", f"c{c}", Connector.CCS, 400, (InletSide.LEFT,)) for c in range(2)
    )
    budgets = (NodeBudget("n0", NodeMode.NORMAL, 2e5, "limit:n0", 0.0, 0.0, 200_000.0, ""),)
    tree = build_tree(limits, chargers, bays, budgets)
    cap = {"b0-0": 150_000.0, "b1-0": 400_000.0}  # the feeder's level: 50 kW, below b0-0
    x = {"b0-0": 150_000.0 - 5e-7, "b1-0": 0.0}
    used = dict.fromkeys(tree.capacity_w, 0.0)
    for b, w in x.items():
        for n in tree.paths[b]:
            used[n] += w
    fast_x, fast_used, slow_x, slow_used = dict(x), dict(used), dict(x), dict(used)
    fill.water_fill(tree, fast_used, fast_x, cap, list(x))
    ref.water_fill(tree, slow_used, slow_x, cap, list(x))
    assert slow_x["b0-0"] == 150_000.0
    assert [v.hex() for v in fast_x.values()] == [v.hex() for v in slow_x.values()]
    assert [v.hex() for v in fast_used.values()] == [v.hex() for v in slow_used.values()]
