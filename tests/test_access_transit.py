"""An ad-hoc truck admitted at an entry lane holds a bay in the admission matching while it
drives to one (`TRANSIT_S`), so two ad-hoc trucks are not let in for one free bay."""

from __future__ import annotations

from edge.access.admission import Policy, VehicleClass
from edge.access.entry import CredentialRead, EntryRules, ReadKind
from edge.access.gate_types import EventKind
from edge.gates.decide import TRANSIT_S, EntryDecider, MemoryBookings
from edge.gates.site_lanes import AD_HOC_NEEDS
from edge.qr_signature import SiteKeys
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide
from tests.test_access_entry import T0
from tests.test_gate_lane import gate

BOTH = Bay("b1", "p1", "c1", Connector.CCS, 400, (InletSide.LEFT, InletSide.RIGHT))


def read(plate: str, at: float) -> CredentialRead:
    return CredentialRead(ReadKind.PLATE, plate, "cam", at, vehicle=VehicleClass.ELECTRIC_TRUCK)


def test_one_free_bay_lets_one_ad_hoc_truck_in_at_a_time() -> None:
    rules = EntryRules(SiteKeys({}), policy=Policy(ad_hoc_needs=AD_HOC_NEEDS))
    decider = EntryDecider(MemoryBookings(), [BOTH], lambda: {"b1": BayState.AVAILABLE}, rules)
    first = decider.entry(gate(), read("AA111AA", T0), T0)
    assert first is not None
    assert first.kind is EventKind.GRANT
    second = decider.entry(gate(), read("BB222BB", T0 + 30), T0 + 30)
    assert second is not None
    assert second.kind is EventKind.DENY  # Full: the first one is driving to that bay
    assert decider.recent[-1]["reason"] == "Full"
    later = T0 + TRANSIT_S + 1  # by now the first one's bay says occupied, or it left
    third = decider.entry(gate(), read("BB222BB", later), later)
    assert third is not None
    assert third.kind is EventKind.GRANT
