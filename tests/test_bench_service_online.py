"""The online reference of `bench/service_online.py` on one truck: what it plans for now."""

from __future__ import annotations

import pytest

pytest.importorskip("scipy")

from bench.service_online import run_step_plan
from edge.sessions import SessionKind
from tests.test_power_objective import DAY_START, Truck

NOON = DAY_START + 2 * 3600.0  # a step start


def truck(soc: float, wanted_wh: float = 100_000.0) -> Truck:
    return Truck(SessionKind.BREAK, NOON, NOON + 2_700, 540_000, soc, wanted_wh, bay="B0010")


def test_a_lone_truck_gets_full_power_now_not_later() -> None:
    # 100 kWh in 45 minutes fits at any pace; energy now is worth a little more.
    assert run_step_plan([truck(0.2)], NOON) == pytest.approx({"B0010": 400_000.0})


def test_the_taper_caps_the_plan_when_known_and_only_then() -> None:
    # At 85 % the model's truck takes 400 kW * (1 - 0.85) / 0.3 = 200 kW.
    assert run_step_plan([truck(0.85)], NOON)["B0010"] == pytest.approx(200_000.0)
    assert run_step_plan([truck(0.85)], NOON, taper=False)["B0010"] == pytest.approx(400_000.0)


def test_two_trucks_on_one_cabinet_share_its_400_kw() -> None:
    a = truck(0.2, 300_000.0)
    b = Truck(SessionKind.BREAK, NOON, NOON + 2_700, 540_000, 0.2, 300_000.0, bay="B0011")
    plan = run_step_plan([a, b], NOON)
    assert sum(plan.values()) == pytest.approx(400_000.0)
