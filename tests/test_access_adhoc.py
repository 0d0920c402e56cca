"""What an ad-hoc truck needs: what its reader says, else every need `[access]
ad_hoc_connectors` allows (default: every connector of the site), each of which must fit;
and `[access] ad_hoc_reserve_min`, the time a bay is held for it. Refused at load with file,
line and key when out of range."""

from __future__ import annotations

import json

import pytest

from edge.access.admission import Policy, Reason, Site, by_start, decide, needs_for
from edge.clock import SimClock
from edge.gates.anpr import BadEvent, parse_event
from edge.gates.site_lanes import GateLanes, ad_hoc_needs
from edge.process_image import ProcessImage
from edge.sessions import BayState
from edge.siteconf import load_site
from edge.siteconf.model import Bay
from tests.conftest import DEMO
from tests.test_access_admission import CCS, DUE, MCS, T0, L, R, arrival, bay, booking

DEMO_TEXT = DEMO.read_text()
ALL = Policy(ad_hoc_needs=needs_for([CCS, MCS]))  # a site with both connectors, the default


def test_defaults_and_values_load(write_site) -> None:
    access = load_site(DEMO).access
    assert (access.ad_hoc_connectors, access.ad_hoc_reserve_min) == (None, 10.0)
    text = DEMO_TEXT + '\n[access]\nad_hoc_connectors = ["MCS", "CCS"]\nad_hoc_reserve_min = 4\n'
    access = load_site(write_site(text)).access
    assert (access.ad_hoc_connectors, access.ad_hoc_reserve_min) == ((MCS, CCS), 4.0)


def test_the_lanes_take_their_settings_from_the_site_file(write_site) -> None:
    demo = load_site(DEMO)  # CCS bays only: an undeclared truck may need CCS, either side
    assert ad_hoc_needs(demo) == ((CCS, L), (CCS, R))
    text = DEMO_TEXT + '\n[access]\nad_hoc_connectors = ["CCS", "MCS"]\nad_hoc_reserve_min = 3\n'
    config = load_site(write_site(text))
    assert ad_hoc_needs(config) == ((CCS, L), (CCS, R), (MCS, L), (MCS, R))
    lanes = GateLanes(config, ProcessImage(3.0), SimClock(), {})
    assert lanes.decider.transit_s == 180.0
    assert lanes.decider.rules.policy.ad_hoc_needs == ad_hoc_needs(config)


CCS_LEFT, MCS_LEFT = bay(1, "p1", CCS, L), bay(2, "p1", MCS, L, R)
BOTH_CONNECTORS = [CCS_LEFT, bay(3, "p1", CCS, R), MCS_LEFT]


def states(bays: list[Bay], *busy: str) -> dict[str, BayState]:
    return {b.id: BayState.OCCUPIED if b.id in busy else BayState.AVAILABLE for b in bays}


@pytest.mark.parametrize(
    ("name", "busy", "said", "reason", "detail"),
    [
        ("undeclared, a bay of each kind free", (), {}, Reason.ACCEPTED, "fits CCS/left, "),
        ("undeclared, the MCS bay taken", ("b2",), {}, Reason.FULL, "for MCS/left (inlet not"),
        ("reader: CCS", ("b2",), {"connector": CCS}, Reason.ACCEPTED, "fits CCS/left, CCS/r"),
        ("reader: CCS, right taken", ("b2", "b3"), {"connector": CCS}, Reason.FULL, "CCS/right"),
        ("reader: CCS left", ("b2", "b3"), {"connector": CCS, "inlet_side": L}, Reason.ACCEPTED,
         "ad hoc; booked"),
        ("reader: MCS", ("b2",), {"connector": MCS}, Reason.FULL, "free bay for MCS/left"),
        ("reader: left, CCS or MCS", ("b2",), {"inlet_side": L}, Reason.FULL, "MCS/left"),
        ("reader: left, both free", (), {"inlet_side": L}, Reason.ACCEPTED, "CCS/left, MCS/left)"),
    ],
)  # fmt: skip
def test_an_ad_hoc_truck_needs_a_bay_for_whatever_it_may_need(
    name: str, busy: tuple[str, ...], said: dict[str, object], reason: Reason, detail: str
) -> None:
    site = Site(BOTH_CONNECTORS, states(BOTH_CONNECTORS, *busy), ())
    d = decide(site, arrival(demand=None, **said), T0, ALL)
    assert (d.reason, detail in d.detail) == (reason, True), d.detail
    assert set(d.inputs.needs) <= set(ALL.ad_hoc_needs)


def test_without_a_policy_an_undeclared_truck_is_referred_unless_its_reader_says() -> None:
    site = Site(BOTH_CONNECTORS, states(BOTH_CONNECTORS), ())
    assert decide(site, arrival(demand=None), T0).reason is Reason.REFERRED
    assert decide(site, arrival(demand=None, inlet_side=L), T0).reason is Reason.REFERRED
    d = decide(site, arrival(demand=None, connector=MCS), T0)
    assert (d.reason, d.inputs.needs) == (Reason.ACCEPTED, ((MCS, L), (MCS, R)))


def test_an_undeclared_truck_cannot_take_the_bay_a_booked_truck_needs() -> None:
    mcs_due = booking(9, T0 + 1800, MCS, L)  # wants the only MCS bay
    site = Site(BOTH_CONNECTORS, states(BOTH_CONNECTORS), by_start([mcs_due]))
    d = decide(site, arrival(demand=None), T0, ALL)
    assert d.reason is Reason.FULL  # it might need MCS: the booked truck keeps that bay
    assert "without a bay for MCS/left" in d.detail
    said_ccs = decide(site, arrival(demand=None, connector=CCS), T0, ALL)
    assert said_ccs.reason is Reason.ACCEPTED  # its reader says CCS: no MCS bay taken
    site = Site(BOTH_CONNECTORS, states(BOTH_CONNECTORS), (DUE,))
    booked = decide(site, arrival(booking=DUE), T0, ALL)
    assert (booked.reason, booked.inputs.needs) == (Reason.ACCEPTED, ((CCS, L),))  # its booking


def event(**extra: object) -> bytes:
    body = {"event_id": "e1", "plate": "1-ABC-123", "taken_at": 1767225600, **extra}
    return json.dumps(body).encode()


def test_a_camera_may_say_the_connector_and_inlet_side() -> None:
    read = parse_event(event(connector="MCS", inlet_side="right"), "cam-1")
    assert (read.connector, read.inlet_side) == (MCS, R)
    read = parse_event(event(), "cam-1")
    assert (read.connector, read.inlet_side) == (None, None)
    for bad in ({"connector": "ccs"}, {"connector": 1}, {"inlet_side": "both"}):
        key = next(iter(bad))
        with pytest.raises(BadEvent, match=f"^{key}: not one of"):
            parse_event(event(**bad), "cam-1")
