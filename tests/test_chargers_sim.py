"""The simulated charger backend and the site-wide port: no sockets, plain data; and the safe
state writes every connector of a multi-connector charger."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

from edge.chargers.port import Outcome
from edge.chargers.sim_charger import SimBay, SimCharger
from edge.chargers.site_port import SitePort, site_port
from edge.drivers.catalog import shipped_catalog
from edge.readings import Grade, Snapshot
from edge.safe_state import apply_all, connector_fallbacks, safe_outputs
from edge.sessions import BayState
from edge.siteconf import load_site
from edge.siteconf.model import SiteConfig
from tests.conftest import DEMO

EMPTY = Snapshot(0.0, 0.0, MappingProxyType({}))


def charging(demand_w: float) -> SimBay:
    return SimBay(BayState.CHARGING, demand_w=demand_w, ev_max_power_w=demand_w)


async def test_sim_charger_delivers_what_the_limit_and_the_truck_allow() -> None:
    sim = SimCharger("ch01", {"B1": charging(300_000.0), "B2": SimBay()})
    result = await sim.apply({"B1": 200_000.0, "B2": 50_000.0})
    assert [w.outcome for w in result.writes] == [Outcome.WRITTEN, Outcome.WRITTEN]
    sim.step(360.0)  # six minutes
    states = {s.bay: s for s in sim.states(EMPTY)}
    assert (states["B1"].power_w, states["B1"].energy_delivered_wh) == (200_000.0, 20_000.0)
    assert (states["B2"].state, states["B2"].power_w) == (BayState.AVAILABLE, 0.0)  # no session
    assert states["B1"].grade is Grade.FRESH


async def test_sim_faults_refused_and_ignored_writes() -> None:
    sim = SimCharger("ch01", {"B1": charging(300_000.0), "B2": charging(300_000.0)})
    await sim.apply({"B1": 100_000.0, "B2": 100_000.0})
    sim.refusing.add("B1")
    sim.ignoring.add("B2")
    result = await sim.apply({"B1": 10_000.0, "B2": 10_000.0})
    assert result.of("B1").outcome is Outcome.FAILED
    assert "refused" in result.of("B1").reason
    assert result.of("B2").outcome is Outcome.WRITTEN  # taken, yet not followed
    assert {s.bay: s.power_w for s in sim.states(EMPTY)} == {"B1": 100_000.0, "B2": 100_000.0}


async def test_site_port_splits_by_charger_and_reports_bays_nobody_drives() -> None:
    one = SimCharger("ch01", {"B1": charging(1e6), "B2": charging(1e6)})
    two = SimCharger("ch02", {"B3": charging(1e6)})
    port = SitePort([one, two])
    result = await port.apply({"B3": 3.0, "B1": 1.0, "B9": 9.0, "B2": float("inf")})
    assert [(w.bay, w.outcome) for w in result.writes] == [
        ("B3", Outcome.WRITTEN),
        ("B1", Outcome.WRITTEN),
        ("B9", Outcome.FAILED),
        ("B2", Outcome.FAILED),  # not a power: refused before any write
    ]
    assert "no charger backend drives it" in result.of("B9").reason
    assert (one.writes, two.writes) == ([("B1", 1.0)], [("B3", 3.0)])
    assert [s.bay for s in port.states(EMPTY)] == ["B1", "B2", "B3"]


class Writer:
    """A device with a profile and write_point, recording what it is sent."""

    def __init__(self, profile_id: str) -> None:
        self.id = "hyc"
        self.profile = shipped_catalog()[profile_id]
        self.written: list[tuple[str, float]] = []

    async def write_point(self, name: str, value: float) -> None:
        self.written.append((name, value))


def hyc_site(tmp_path: Path) -> SiteConfig:
    text = DEMO.read_text().replace('device = "cabinet-1"\n', 'device = "hyc"\n', 1)
    text = text.replace(
        "[[chargers]]\n",
        '[[devices]]\nid = "hyc"\nkind = "charger"\nprofile = "alpitronic-hyc"\n'
        'link = "sim-lan"\nunit = 20\n\n[[chargers]]\n',
        1,
    )
    path = tmp_path / "site.toml"
    path.write_text(text)
    return load_site(path)


async def test_safe_state_splits_the_fallback_over_the_connectors_with_bays(
    tmp_path: Path,
) -> None:
    config = hyc_site(tmp_path)
    device = Writer("alpitronic-hyc")
    outputs = safe_outputs(config, {"hyc": device})
    assert [o.name for o in outputs] == [
        "charger ch01 power_setpoint_w=25000",
        "charger ch01 connector_2_power_setpoint_w=25000",
    ]
    assert await apply_all(outputs, "test") == 0
    assert sorted(device.written) == [
        ("connector_2_power_setpoint_w", 25_000.0),
        ("power_setpoint_w", 25_000.0),
    ]
    # One bay only: it gets the whole fallback, the other connector 0 (nothing budgeted).
    single = replace(config, bays=tuple(b for b in config.bays if b.id != "B02"))
    assert connector_fallbacks(single, single.chargers[0], device) == [
        ("power_setpoint_w", 50_000.0),
        ("connector_2_power_setpoint_w", 0.0),
    ]


async def test_site_port_drives_the_chargers_that_have_a_device(tmp_path: Path) -> None:
    config = hyc_site(tmp_path)
    device = Writer("alpitronic-hyc")
    port = site_port(config, {"hyc": device})
    result = await port.apply({"B02": 30_000.0, "B01": 20_000.0, "B03": 1.0})
    assert device.written == [
        ("connector_2_power_setpoint_w", 30_000.0),
        ("power_setpoint_w", 20_000.0),
    ]
    outcomes = [w.outcome for w in result.writes]
    assert outcomes == [
        Outcome.CONFIRMED,
        Outcome.CONFIRMED,
        Outcome.FAILED,
    ]  # B03: ch02, whose device (cabinet-2) is not among those given
