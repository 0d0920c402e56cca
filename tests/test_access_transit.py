"""An ad-hoc truck admitted at an entry lane holds a bay in the admission matching while it
drives to one (`[access] ad_hoc_reserve_min`), so two ad-hoc trucks are not let in for one
free bay; the bay is held for what the truck was admitted with."""

from __future__ import annotations

from edge.access.admission import Policy, VehicleClass, needs_for
from edge.access.entry import CredentialRead, EntryRules, ReadKind
from edge.access.gate_types import EventKind
from edge.gates.decide import TRANSIT_S, EntryDecider, MemoryBookings
from edge.qr_signature import SiteKeys
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide
from tests.test_access_entry import T0
from tests.test_gate_lane import gate

BOTH = Bay("b1", "p1", "c1", Connector.CCS, 400, (InletSide.LEFT, InletSide.RIGHT))
CCS_EITHER_SIDE = needs_for([Connector.CCS])


def read(plate: str, at: float, **kw: object) -> CredentialRead:
    return CredentialRead(
        ReadKind.PLATE, plate, "cam", at, vehicle=VehicleClass.ELECTRIC_TRUCK, **kw
    )  # type: ignore[arg-type]


def decider(bays: list[Bay], **kw: float) -> EntryDecider:
    rules = EntryRules(SiteKeys({}), policy=Policy(ad_hoc_needs=CCS_EITHER_SIDE))
    states = {b.id: BayState.AVAILABLE for b in bays}
    return EntryDecider(MemoryBookings(), bays, lambda: states, rules, **kw)


def kind(d: EntryDecider, plate: str, at: float, **kw: object) -> EventKind:
    event = d.entry(gate(), read(plate, at, **kw), at)
    assert event is not None
    return event.kind


def test_one_free_bay_lets_one_ad_hoc_truck_in_at_a_time() -> None:
    d = decider([BOTH])
    assert d.transit_s == TRANSIT_S == 600.0  # the default: 10 minutes
    assert kind(d, "AA111AA", T0) is EventKind.GRANT
    assert kind(d, "BB222BB", T0 + 30) is EventKind.DENY  # Full: the first one drives to it
    assert d.recent[-1]["reason"] == "Full"
    later = T0 + TRANSIT_S + 1  # by now the first one's bay says occupied, or it left
    assert kind(d, "BB222BB", later) is EventKind.GRANT


def test_the_reservation_lasts_as_configured() -> None:
    d = decider([BOTH], transit_s=300.0)  # ad_hoc_reserve_min = 5
    assert kind(d, "AA111AA", T0) is EventKind.GRANT
    assert kind(d, "BB222BB", T0 + 299) is EventKind.DENY  # still held
    assert kind(d, "CC333CC", T0 + 301) is EventKind.GRANT  # released after 5 min, not 10


def test_the_bay_is_held_for_what_the_reader_said() -> None:
    mcs = Bay("b2", "p1", "c1", Connector.MCS, 400, (InletSide.LEFT,))
    d = decider([BOTH, mcs])
    mcs_left = {"connector": Connector.MCS, "inlet_side": InletSide.LEFT}
    assert kind(d, "AA111AA", T0, **mcs_left) is EventKind.GRANT  # on its way to the MCS bay
    assert d.recent[-1]["detail"] == "ad hoc; booked trucks keep their bays"
    assert kind(d, "BB222BB", T0 + 10) is EventKind.GRANT  # the CCS bay is still free
    assert kind(d, "CC333CC", T0 + 20, **mcs_left) is EventKind.DENY  # the MCS bay is held
