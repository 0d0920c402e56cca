"""The demo's simulated gate plant: the boom follows its relay in `travel_s`, its limit
switches read the position, it never lowers onto a vehicle, and trucks wait on loop A for
the boom, drive under it, or back away."""

from __future__ import annotations

from edge.sim.gate_plant import GatePlant, SimTruck, Stage
from edge.siteconf import load_site
from tests.conftest import DEMO

IO, LIMITS = "io-gate", "io-gate-limits"


def run(plant: GatePlant, start: float, seconds: float, step: float = 0.2) -> float:
    t = start
    for _ in range(round(seconds / step)):  # bounded by the step count
        t += step
        plant.step(t)
    return t


def test_the_boom_follows_its_relay_and_its_limits_read_it() -> None:
    plant = GatePlant(load_site(DEMO).gates, travel_s=3.0)
    io, limits = plant.model_for(IO), plant.model_for(LIMITS)
    assert io is not None
    assert limits is not None
    assert plant.model_for("grid-meter") is None
    t = run(plant, 0.0, 0.2)
    assert limits.values(t) == {"input_1": 0.0, "input_2": 1.0, "input_3": 0.0, "input_4": 1.0}
    io.on_write("output_1", 1.0, t)  # the entry lane's relay
    t = run(plant, t, 1.0)
    assert limits.values(t)["input_2"] == 0.0  # off its closed limit, not yet up
    assert limits.values(t)["input_1"] == 0.0
    t = run(plant, t, 2.2)
    assert limits.values(t)["input_1"] == 1.0
    assert limits.values(t)["input_4"] == 1.0  # the exit boom never moved


def test_a_truck_waits_drives_under_and_the_boom_never_lowers_onto_it() -> None:
    plant = GatePlant(load_site(DEMO).gates, travel_s=3.0)
    io = plant.model_for(IO)
    assert io is not None
    seen: list[tuple[str, Stage]] = []
    plant.seen = lambda truck: seen.append((truck.plate, truck.stage))
    plant.arrive(SimTruck("1-ABC-123", "electric-truck", "entry-main"))
    t = run(plant, 0.0, 1.0)
    assert io.values(t)["input_1"] == 1.0  # on loop A
    assert seen == [("1-ABC-123", Stage.WAITING)]
    io.on_write("output_1", 1.0, t)
    t = run(plant, t, 3.4)  # the boom is up: the truck drives under it
    assert io.values(t) == {"input_1": 1.0, "input_2": 1.0, "input_3": 1.0, "input_5": 0.0,
                            "input_6": 0.0, "input_7": 0.0}  # fmt: skip
    io.on_write("output_1", 0.0, t)  # a close asked for over the truck
    t = run(plant, t, 2.0)
    lane = plant.lanes["entry-main"]
    assert lane.position == 1.0  # the drive keeps it up over the truck
    t = run(plant, t, 5.0)
    assert ("1-ABC-123", Stage.IN) in seen
    assert lane.position == 0.0  # clear: lowered to its closed limit


def test_a_truck_the_boom_does_not_open_for_backs_away() -> None:
    plant = GatePlant(load_site(DEMO).gates)
    plant.arrive(SimTruck("3-DSL-001", "truck", "entry-main", patience_s=5.0))
    plant.arrive(SimTruck("2-ADH-001", "electric-truck", "entry-main"))
    run(plant, 0.0, 6.0)
    assert plant.outcomes() == [("entry-main", "3-DSL-001", "turned-away")]
    assert plant.lanes["entry-main"].truck is not None  # the next one moved up to loop A
    assert plant.lanes["entry-main"].truck.plate == "2-ADH-001"  # type: ignore[union-attr]
