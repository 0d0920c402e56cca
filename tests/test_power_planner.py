"""The controller's plan (`edge/power/planner.py`) and `allocate` following it, on the
Antwerp-Bruges shape; the plan solved by HiGHS (scipy, the `[plan]` extra)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("scipy")

from edge import schedule_solve
from edge.power.allocation_model import AllocationInputs, BayInput
from edge.power.allocator import allocate
from edge.power.planner import PlanSettings, build, make_plan
from edge.sessions import BayState, SessionKind, Source
from tests.test_power_allocator import check_tree, scenarios
from tests.test_power_site import hub, inputs_for, normal_budgets, session

NOW = 50_000.0
PLAN = PlanSettings(taper_from_pct=70.0)
KW = 1000.0


def truck(
    bay: str,
    kwh: float,
    dwell_s: float,
    soc: float | None = 20.0,
    kind: SessionKind = SessionKind.BREAK,
    source: Source = Source.BOOKING,
) -> BayInput:
    return BayInput(
        bay,
        BayState.CHARGING,
        session(bay, kind, NOW, kwh, dwell_s, source=source),
        soc_pct=soc,
        battery_wh=540_000.0 if soc is not None else None,
    )


SOLVE = schedule_solve.best_schedule


def plan(inputs: AllocationInputs) -> dict[str, float]:
    got = make_plan(inputs, NOW, PLAN, SOLVE)
    assert got is not None
    return dict(got.power_w)


def test_a_lone_truck_is_planned_at_full_power_now() -> None:
    site = hub(chargers=1, feeders_kw=())
    assert plan(inputs_for(site, (truck("B0000", 100, 2_700),))) == {
        "B0000": pytest.approx(400 * KW)
    }


def test_a_truck_leaving_within_the_first_step_gets_its_energy_before_it_leaves() -> None:
    # 5 kWh in the minute left (half a 2-minute step): 300 kW, not 5 kWh over 2 minutes.
    site = hub(chargers=1, feeders_kw=())
    exact = dataclasses.replace(PLAN, served_margin_wh=0.0)
    got = make_plan(inputs_for(site, (truck("B0000", 5, 60),)), NOW, exact, SOLVE)
    assert got is not None
    assert got.power_w == {"B0000": pytest.approx(300 * KW)}


def test_the_taper_caps_a_truck_near_full() -> None:
    # At 85 %, with the taper from 70 %: 400 kW * (100 - 85) / 30 = 200 kW.
    site = hub(chargers=1, feeders_kw=())
    got = plan(inputs_for(site, (truck("B0000", 50, 2_700, soc=85.0),)))
    assert got["B0000"] == pytest.approx(200 * KW)


def test_of_two_trucks_that_cannot_both_finish_the_plan_serves_one_fully() -> None:
    # One 400 kW cabinet for 45 minutes: 300 kWh. Both want 200 kWh: one can have it.
    site = hub(chargers=1, feeders_kw=())
    inputs = inputs_for(site, (truck("B0000", 200, 2_700), truck("B0001", 200, 2_700)))
    got = plan(inputs)
    assert sum(got.values()) == pytest.approx(400 * KW)
    served = [b for b, w in got.items() if w == pytest.approx(400 * KW)]
    assert len(served) == 1  # the whole cabinet to one now: it finishes; the other gets the rest


def test_a_truck_that_can_wait_gives_way_to_one_that_cannot() -> None:
    # The grid (400 kW) is the limit. The overnight truck has hours to get its 300 kWh; the
    # break truck needs all 400 kW for its 30 minutes to get its 200.
    site = hub(chargers=2, grid_kw=400.0, feeders_kw=())
    inputs = inputs_for(
        site,
        (
            truck("B0000", 300, 36_000, kind=SessionKind.OVERNIGHT),
            truck("B0010", 200, 1_800),
        ),
    )
    got = plan(inputs)
    assert got["B0010"] == pytest.approx(400 * KW)
    assert got["B0000"] == pytest.approx(0.0, abs=1.0)


def test_only_trucks_with_a_known_want_and_taper_are_planned() -> None:
    site = hub(chargers=2, feeders_kw=())
    inputs = inputs_for(
        site,
        (
            truck("B0000", 200, 2_700),
            truck("B0001", 200, 2_700, soc=None),  # no state of charge, no battery size
            truck("B0010", 300, 2_700, source=Source.DEFAULT),  # the site's guess
        ),
    )
    _, _, first, _ = build(inputs, NOW, PLAN)
    assert set(first) == {"B0000"}
    no_taper = dataclasses.replace(PLAN, need_taper=False)
    _, _, first, _ = build(inputs, NOW, no_taper)
    assert set(first) == {"B0000", "B0001"}


def test_of_two_equal_trucks_the_plan_keeps_the_one_charging_now() -> None:
    # One cabinet, two trucks that cannot both finish, alike in all but the setpoint now:
    # a switch would cost a ramp and a confirmed decrease on the plant.
    site = hub(chargers=1, feeders_kw=())
    for charging in ("B0000", "B0001"):
        bays = tuple(
            dataclasses.replace(
                truck(bay, 200, 2_700), previous_w=400 * KW if bay == charging else 0.0
            )
            for bay in ("B0000", "B0001")
        )
        got = plan(inputs_for(site, bays))
        assert got[charging] == pytest.approx(400 * KW)


def test_a_truck_the_last_plan_served_counts_twice_and_is_planned_with_a_margin() -> None:
    site = hub(chargers=1, feeders_kw=())
    inputs = inputs_for(site, (truck("B0000", 200, 2_700), truck("B0001", 200, 2_700)))
    program, _, _, goal_bays = build(inputs, NOW, PLAN, keep=frozenset({"B0001"}))
    assert sorted(goal_bays) == ["B0000", "B0001", "B0001"]
    need = 200_000.0 + PLAN.served_margin_wh - 1_000.0  # what the plan must give to serve it
    assert [g[1] for g in program.goals] == pytest.approx([need] * 3)
    off = dataclasses.replace(PLAN, keep_served=False)
    assert sorted(build(inputs, NOW, off, keep=frozenset({"B0001"}))[3]) == ["B0000", "B0001"]


def test_allocate_gives_the_planned_power_and_shares_the_rest_among_the_unplanned() -> None:
    site = hub(chargers=2, grid_kw=550.0, feeders_kw=())
    bays = (truck("B0000", 200, 2_700), truck("B0010", 200, 2_700))
    inputs = dataclasses.replace(inputs_for(site, bays), plan={"B0000": 150 * KW})
    got = allocate(inputs, NOW).power_w()
    assert got["B0000"] == pytest.approx(150 * KW)
    assert got["B0010"] == pytest.approx(400 * KW)  # not planned: its cap, from what is left
    # What is left after both (here 100 kW) is water-filled among all, planned or not.
    roomier = dataclasses.replace(inputs, budgets=normal_budgets(site, {"grid": 650.0}))
    assert allocate(roomier, NOW).power_w()["B0000"] == pytest.approx(250 * KW)


def test_a_plan_of_zero_does_not_stop_a_session_restarted_lately() -> None:
    site = hub(chargers=1, feeders_kw=())
    restarted = dataclasses.replace(
        truck("B0000", 200, 2_700), previous_w=100 * KW, last_stop_at=NOW - 60
    )
    inputs = dataclasses.replace(inputs_for(site, (restarted,)), plan={"B0000": 0.0})
    assert allocate(inputs, NOW).power_w()["B0000"] >= 20 * KW  # the charger's minimum


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.data())
def test_no_node_is_ever_exceeded_whatever_the_plan(
    inp: AllocationInputs, data: st.DataObject
) -> None:
    bays = [b.bay for b in inp.bay_inputs]
    planned = data.draw(
        st.dictionaries(st.sampled_from(bays), st.floats(0, 2e6)) if bays else st.just({})
    )
    check_tree(inp, allocate(dataclasses.replace(inp, plan=planned), NOW).power_w())


def test_the_plan_leaves_room_for_every_sessions_pause() -> None:
    # Pause 50 kW on each of the two bays of a 400 kW cabinet; the plan shares 300 kW.
    site = hub(chargers=1, feeders_kw=())
    inputs = inputs_for(site, (truck("B0000", 200, 2_700), truck("B0001", 200, 2_700)))
    inputs = dataclasses.replace(
        inputs, tuning=tuple(dataclasses.replace(t, pause_w=50 * KW) for t in inputs.tuning)
    )
    assert sum(plan(inputs).values()) == pytest.approx(300 * KW)
