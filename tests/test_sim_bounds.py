"""The bounds' solver (`edge/schedule_solve.py`) on programs small enough to solve by hand.

Two trucks on one 100 kWh-per-step charger for two steps, each able to take 80 kWh a step:
truck 0 wants 150 kWh, truck 1 wants 120 kWh. Together at most 200 kWh; serving both needs
270 kWh, so at most one is served; serving truck 0 leaves 50 kWh for truck 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("scipy")

from edge import schedule_solve
from edge.power.schedule_program import Program, Row
from edge.sim import bounds
from edge.sim.plant import Plant
from edge.sim.scenario import load_scenario
from edge.sim.traffic import TruckResult
from edge.sim.trucks import TruckSpec

REPO = Path(__file__).resolve().parents[1]

KWH = 1_000.0
# columns: truck 0 step 0, truck 0 step 1, truck 1 step 0, truck 1 step 1
CHARGER: list[Row] = [({0: 1.0, 2: 1.0}, 100 * KWH), ({1: 1.0, 3: 1.0}, 100 * KWH)]
WANTS: list[Row] = [({0: 1.0, 1: 1.0}, 150 * KWH), ({2: 1.0, 3: 1.0}, 120 * KWH)]
GOALS = [([0, 1], 150 * KWH - 1), ([2, 3], 120 * KWH - 1)]


def program(rows: list[Row] | None = None) -> Program:
    return Program([80 * KWH] * 4, CHARGER + WANTS + (rows or []), GOALS)


def test_energy_is_the_charger_when_both_want_more_than_it_gives() -> None:
    assert schedule_solve.energy(program()) == pytest.approx(200 * KWH)


def test_one_truck_at_most_is_served_and_that_is_proven() -> None:
    assert schedule_solve.breaks_served(program(), 10.0) == (1, True)


def test_a_looser_charger_serves_both() -> None:
    loose = Program([80 * KWH] * 4, [(r, 150 * KWH) for r, _ in CHARGER] + WANTS, GOALS)
    assert schedule_solve.breaks_served(loose, 10.0) == (2, True)
    assert schedule_solve.energy(loose) == pytest.approx(270 * KWH)


def test_energy_serving_one_truck_is_still_the_charger() -> None:
    got = schedule_solve.energy_serving(program(), 1, 10.0)
    assert got == pytest.approx(200 * KWH)


def test_a_coefficient_row_binds_as_written() -> None:
    # Truck 1's second step at most half its first (an acceptance-style row): x3 - 0.5 x2 <= 0.
    # Truck 1 alone: x2 <= 80, x3 <= 40 -> 120 kWh is reachable exactly; any more is not.
    alone = program([({0: 1.0, 1: 1.0}, 0.0), ({3: 1.0, 2: -0.5}, 0.0)])
    assert schedule_solve.energy(alone) == pytest.approx(120 * KWH)
    assert schedule_solve.breaks_served(alone, 10.0) == (1, True)


def test_an_empty_program_bounds_nothing() -> None:
    empty = Program([], [], [])
    assert schedule_solve.energy(empty) == 0.0
    assert schedule_solve.breaks_served(empty, 1.0) == (0, True)


def test_a_truck_still_on_its_bay_at_the_end_counts_in_no_bound() -> None:
    # The run's "delivered by departure" counts the trucks that left; so must the bound,
    # or a cut day (overnight trucks still charging) reads as 65 % of it.
    sc = load_scenario(REPO / "scenarios" / "weekday-rush.toml")
    a, b = sorted(sc.trucks, key=lambda t: t.arrive)[:2]
    plant = Plant(
        sc.site.limits, sc.site.chargers, sc.site.bays, sc.site.timezone, sc.start, sc.weather
    )
    end = max(a.leave, b.leave) + 600.0

    def bound(*results: TruckResult) -> dict[str, object]:
        return bounds.compute(sc.site, plant, sc.trucks, results, sc.start, end, mip_seconds=5.0)

    def on(spec: TruckSpec, bay: str, left: bool) -> TruckResult:
        return TruckResult(spec.id, spec.kind, bay, spec.wanted_wh, 0.0, left)

    first, last = sc.site.bays[0].id, sc.site.bays[-1].id  # different cabinets
    both = bound(on(a, first, True), on(b, last, True))
    b_stays = bound(on(a, first, True), on(b, last, False))
    a_alone = bound(on(a, first, True))
    assert b_stays["trucks"] == 1
    assert b_stays["energy_kwh"] == a_alone["energy_kwh"]
    assert a_alone["energy_kwh"] < both["energy_kwh"]  # type: ignore[operator]


def test_the_best_schedule_serves_one_truck_and_then_takes_the_energy_soonest() -> None:
    # Served counts first (worth 1,000 kWh): one truck gets its 150 or 120 kWh; energy next
    # (200 kWh either way); then step 0 is worth a little more than step 1, so the charger
    # is full in step 0 and the schedule is one a controller could apply step by step.
    x = schedule_solve.best_schedule(program(), [1.0, 0.99, 1.0, 0.99], 1_000 * KWH, 10.0)
    assert x is not None
    assert len(x) == 4
    assert x[0] + x[2] == pytest.approx(100 * KWH)
    assert x[1] + x[3] == pytest.approx(100 * KWH)
    served = [x[0] + x[1] >= 150 * KWH - 1, x[2] + x[3] >= 120 * KWH - 1]
    assert served.count(True) == 1


def test_the_best_schedule_follows_the_weights_of_its_columns() -> None:
    # Truck 1's energy worth more: truck 1 is the one served, and gets its 80 kWh in step 0.
    x = schedule_solve.best_schedule(program(), [1.0, 1.0, 2.0, 1.9], 0.0, 10.0)
    assert x is not None
    assert x[2] + x[3] == pytest.approx(120 * KWH)
    assert x[2] == pytest.approx(80 * KWH)
