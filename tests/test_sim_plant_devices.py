"""The demo's devices read the plant: node meters see the chargers, a cabinet takes a
setpoint per connector and reports each connector's truck, in the profile's own codes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge.clock import SimClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_profile import Profile
from edge.sessions import BayState, SessionKind
from edge.sim.host import OPENING_EVERY_S, OPENING_FIRST_S, LivePlant, SimHost, opening
from edge.sim.plant import Plant, Weather
from edge.sim.plant_models import PlantCabinet, node_meter
from edge.sim.sim_unit import SimUnit
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf.loader import load_site

SITE = load_site("config/antwerp-bruges.toml")
NOON = 1_781_258_400.0


def _profile(name: str) -> Profile:
    p = shipped_catalog()[name]
    assert isinstance(p, Profile)
    return p


def _plant() -> Plant:
    return Plant(SITE.limits, SITE.chargers, SITE.bays, SITE.timezone, NOON, Weather(pv_kw=0.0))


def _truck(id: str) -> TruckSpec:
    return TruckSpec(
        id, SessionKind.BREAK, "CCS", NOON, NOON + 2_700, 540_000.0, 0.2, 2e5, CCS_MAX_W
    )


@pytest.mark.parametrize(
    ("profile", "charging", "ready"), [("edgehub-dc-cabinet", 2, 1), ("alpitronic-hyc", 3, 0)]
)
def test_a_cabinet_takes_a_setpoint_per_connector_and_reports_each_truck(
    profile: str, charging: int, ready: int
) -> None:
    plant = _plant()
    cab = PlantCabinet(plant, _profile(profile), {1: "B01", 2: "B02"})
    plant.arrive(_truck("T1"), "B02")
    cab.on_write("connector_2_power_setpoint_w", 150_000.0, NOON)
    cab.on_write("power_setpoint_w", 90_000.0, NOON)  # connector 1: no truck there
    assert plant.bays["B02"].setpoint_w == 150_000.0
    assert plant.bays["B01"].setpoint_w == 90_000.0
    for _ in range(10):
        plant.step(1.0)
    v = cab.values(NOON + 10)
    assert v["connector_2_power_w"] == 150_000.0
    assert v["connector_2_status"] == charging
    assert v["status"] == ready
    assert v["power_w"] == 0.0
    assert v["connector_2_ev_soc_pct"] > 20.0
    grid = node_meter(plant, "grid").values(NOON + 10)["power_w"]
    assert grid == pytest.approx(plant.base_w + 150_000.0)  # the grid meter sees the truck


def test_a_silent_controller_puts_the_cabinet_on_its_fallback_share() -> None:
    plant = _plant()
    cab = PlantCabinet(plant, _profile("edgehub-dc-cabinet"), {1: "B01", 2: "B02"})
    cab.on_write("fallback_power_w", 50_000.0, NOON)
    cab.on_write("watchdog_s", 5.0, NOON)
    cab.on_write("power_setpoint_w", 300_000.0, NOON)
    plant.arrive(_truck("T1"), "B02")
    assert cab.values(NOON + 4)["connector_2_status"] != 5
    assert plant.bays["B01"].setpoint_w == 300_000.0
    v = cab.values(NOON + 6)
    assert v["connector_2_status"] == 5  # fallback: the truck charges at the fallback share
    assert plant.bays["B01"].setpoint_w == 25_000.0
    assert plant.bays["B02"].setpoint_w == 25_000.0
    # An empty connector reports itself free, not charging on the fallback (the demo's
    # first frame showed its empty bays "charging 0 kW").
    assert v["status"] == 1  # ready
    assert plant.bays["B01"].state() is BayState.AVAILABLE


async def test_the_demo_host_serves_meters_that_see_the_plant() -> None:
    site = load_site("config/demo.toml")
    host = SimHost()
    clock = SimClock(NOON)
    await host.start(site, clock)
    try:
        live = host.live
        assert live is not None
        grid = next(d for d in site.devices if d.id == "grid-meter")
        server = host.servers[grid.link]
        assert grid.unit is not None
        unit = server.units[grid.unit]
        assert isinstance(unit, SimUnit)
        live.traffic.arrivals.clear()  # no opening trucks: this test places its own
        live.plant.arrive(_truck("T9"), "B01")
        cabinet = server.units[next(d.unit for d in site.devices if d.id == "cabinet-1")]
        assert isinstance(cabinet, SimUnit)
        cabinet.model.on_write("power_setpoint_w", 200_000.0, clock.wall())  # as the daemon
        for _ in range(20):
            live.plant.step(1.0)
        assert live.plant.bays["B01"].draw_w == pytest.approx(200_000.0)  # what it was allowed
        reading = unit.model.values(clock.wall())["power_w"]
        assert reading == pytest.approx(live.plant.node_w("grid"))
        assert reading == pytest.approx(live.plant.exogenous_w() + live.plant.charging_w())
    finally:
        await host.stop()


def test_the_live_plant_opens_with_one_break_truck_per_bay_in_the_first_seconds() -> None:
    demo = load_site("config/demo.toml")
    live = LivePlant(demo, SimClock(NOON))
    arrivals = live.traffic.arrivals
    assert all(t.arrive > NOON for t in arrivals)  # the bays start empty
    first = arrivals[: len(demo.bays)]
    assert [t.arrive - NOON for t in first] == [
        OPENING_FIRST_S + i * OPENING_EVERY_S for i in range(len(demo.bays))
    ]
    assert all(t.kind is SessionKind.BREAK and t.connector == "CCS" for t in first)
    assert all(t.leave - t.arrive == pytest.approx(2_700.0, abs=1.0) for t in first)  # 45 min
    assert arrivals[len(demo.bays)].arrive > NOON + 60  # then the seeded day, as it comes
    ids = [t.id for t in arrivals]
    assert len(ids) == len(set(ids))  # a truck brought forward is not also due later


def test_the_opening_takes_only_trucks_for_the_sites_connectors() -> None:
    mcs = replace(_truck("M1"), connector="MCS", arrive=NOON + 10, leave=NOON + 100)
    ccs = replace(_truck("C1"), arrive=NOON + 20, leave=NOON + 2_000)
    gone = replace(_truck("G1"), arrive=NOON - 10, leave=NOON + 5)
    out = opening((mcs, ccs, gone), NOON, 4, {"CCS"})
    assert [t.id for t in out] == ["M1", "C1"]
    assert out[1].arrive == NOON + OPENING_FIRST_S
    assert out[1].leave == NOON + OPENING_FIRST_S + 1_980.0
    assert out[0] == mcs  # not for this site: left where it was
