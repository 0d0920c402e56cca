"""Budget per limit node from graded meters: normal, hold, fallback; never fail open."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edge.power.budget import (
    BayMeasurement,
    BudgetInputs,
    LimitOverride,
    NodeMeasurement,
    NodeMode,
    node_budgets,
)
from edge.readings import Grade
from tests.test_power_site import hub

SITE = hub(chargers=2, grid_kw=1000.0, feeders_kw=())  # grid: fallback 400 kW
BAYS = ("B0000", "B0001", "B0010", "B0011")


def budget(
    meter_w: float | None,
    grade: Grade,
    bay_w: float = 0.0,
    bay_grade: Grade = Grade.FRESH,
    last_base: float | None = None,
    overrides: tuple[LimitOverride, ...] = (),
    margin_w: float = 20_000.0,
):  # type: ignore[no-untyped-def]
    inputs = BudgetInputs(
        *SITE,
        meters=(NodeMeasurement("grid", meter_w, grade),),
        bay_power=tuple(BayMeasurement(b, bay_w, bay_grade) for b in BAYS),
        last_base_w=(("grid", last_base),) if last_base is not None else (),
        margin_w=margin_w,
        overrides=overrides,
    )
    (only,) = node_budgets(inputs)
    return only


def test_fresh_meter_budget_is_limit_minus_base_load_minus_margin() -> None:
    b = budget(700_000.0, Grade.FRESH, bay_w=100_000.0)  # 400 kW charging, 300 kW base
    assert b.mode is NodeMode.NORMAL
    assert b.charging_w == 400_000.0
    assert b.base_w == 300_000.0
    assert b.available_w == 1_000_000.0 - 300_000.0 - 20_000.0
    assert b.binding == "limit:grid"


def test_solar_under_the_node_counts_through_the_meter() -> None:
    # 400 kW charging, meter reads 250 kW: 150 kW of local generation beyond the base load.
    b = budget(250_000.0, Grade.FRESH, bay_w=100_000.0)
    assert b.base_w == -150_000.0
    assert b.available_w == 1_130_000.0


def test_a_charger_reading_not_fresh_counts_as_drawing_nothing() -> None:
    b = budget(700_000.0, Grade.FRESH, bay_w=100_000.0, bay_grade=Grade.STALE)
    assert b.base_w == 700_000.0  # over-estimated: the safe side
    assert b.available_w == 280_000.0


def test_stale_meter_holds_on_the_last_base_load() -> None:
    b = budget(700_000.0, Grade.STALE, bay_w=100_000.0, last_base=300_000.0)
    assert b.mode is NodeMode.HOLD
    assert b.binding == "mode:hold"
    assert b.available_w == 680_000.0
    assert "stale" in b.reason


def test_stale_meter_with_no_base_load_known_falls_back() -> None:
    b = budget(700_000.0, Grade.STALE)
    assert b.mode is NodeMode.FALLBACK
    assert b.available_w == 400_000.0


def test_lost_or_never_read_meter_falls_back_to_fallback_kw() -> None:
    for meter_w, grade in ((700_000.0, Grade.LOST), (None, Grade.FRESH)):
        b = budget(meter_w, grade, last_base=0.0)
        assert b.mode is NodeMode.FALLBACK
        assert b.available_w == 400_000.0
        assert b.binding == "mode:fallback"


def test_an_override_only_lowers_the_limit() -> None:
    low = budget(100_000.0, Grade.FRESH, overrides=(LimitOverride("grid", 500_000.0),))
    assert low.binding == "override:grid"
    assert low.available_w == 500_000.0 - 100_000.0 - 20_000.0
    high = budget(100_000.0, Grade.FRESH, overrides=(LimitOverride("grid", 5_000_000.0),))
    assert high.binding == "limit:grid"
    assert high.limit_w == 1_000_000.0


@given(
    st.floats(-2e6, 2e6),
    st.floats(0, 5e5),
    st.sampled_from(list(Grade)),
    st.sampled_from(list(Grade)),
    st.none() | st.floats(-2e6, 2e6),
)
def test_never_fail_open(
    meter_w: float, bay_w: float, grade: Grade, bay_grade: Grade, last_base: float | None
) -> None:
    """Whatever the grades, the budget never exceeds what fresh data would allow with the
    worst of what is known, and a blind node never gets more than its fallback."""
    b = budget(meter_w, grade, bay_w, bay_grade, last_base)
    assert b.available_w >= 0.0
    if b.mode is NodeMode.FALLBACK:
        assert b.available_w <= 400_000.0
    if grade is Grade.LOST:
        assert b.mode is NodeMode.FALLBACK
    if grade is Grade.STALE and last_base is not None:
        assert b.mode is NodeMode.HOLD
        assert b.available_w == max(0.0, 1_000_000.0 - last_base - 20_000.0)
    if grade is Grade.FRESH:
        # Grading a fresh bay reading as stale can only shrink the budget.
        assert b.available_w <= budget(meter_w, grade, bay_w, Grade.FRESH).available_w


@given(st.floats(-2e6, 2e6), st.floats(0, 1e6))
def test_more_load_on_the_meter_never_gives_more(meter_w: float, more_w: float) -> None:
    assert (
        budget(meter_w + more_w, Grade.FRESH).available_w
        <= budget(meter_w, Grade.FRESH).available_w
    )
