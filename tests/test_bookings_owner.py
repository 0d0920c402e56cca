"""The bookings owner (shell): merge by version, cancel, site facts, persistence, assignment."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from edge.access.bookings import (
    Booking,
    BookingInvalid,
    BookingStatus,
    Credentials,
    MergeOutcome,
    Period,
    Phase,
    PhaseEvent,
    Terms,
)
from edge.availability import Source
from edge.availability_owner import AvailabilityOwner
from edge.booking_wire import from_wire, to_wire
from edge.bookings_owner import BookingsOwner
from edge.clock import SimClock
from edge.sessions import BayState
from edge.siteconf import load_site
from edge.siteconf.model import Connector, InletSide
from edge.store import LocalStore, audit_rows, bookings_rows
from tests.conftest import DEMO

HOUR = 3600.0


class Owners:
    def __init__(self, tmp_path: Path, clock: SimClock) -> None:
        config = load_site(DEMO)
        self.config = replace(config, storage=replace(config.storage, state_dir=tmp_path))
        self.clock = clock
        self.events: list[tuple[str, dict[str, Any]]] = []

    async def open(self) -> BookingsOwner:
        store = LocalStore(self.config.storage.state_dir / "site.db", wall=self.clock.wall)
        self.availability = AvailabilityOwner(self.config, self.clock, store)
        await self.availability.load()
        self.bookings = BookingsOwner(self.availability, self.clock)
        self.bookings.listen(lambda stream, payload: self.events.append((stream, payload)))
        await self.bookings.load()
        return self.bookings

    async def close(self) -> None:
        await self.availability.close()

    def streams(self, stream: str) -> list[dict[str, Any]]:
        return [p for s, p in self.events if s == stream]


@pytest.fixture
async def owners(tmp_path: Path) -> AsyncIterator[Owners]:
    o = Owners(tmp_path, SimClock())
    await o.open()
    yield o
    await o.close()


def booked(o: Owners, bid: str = "bk-1", version: int = 1, **kw: Any) -> Booking:
    start = o.clock.wall() + HOUR
    fields: dict[str, Any] = {
        "period": Period(start, start + HOUR),
        "connector": Connector.CCS,
        "inlet_side": InletSide.LEFT,
        "plot": "main",
        "credentials": Credentials(tractor_plate="1-ABC-123"),
        "terms": Terms(noshow_timeout_s=900, late_stop_s=600),
        "updated_at": o.clock.wall(),
    }
    fields.update(kw)
    return Booking(bid, version, **fields)


async def test_upsert_is_idempotent_by_version_and_audited(owners: Owners) -> None:
    b = owners.bookings
    assert (await b.upsert(booked(owners, version=2), by="cloud")).outcome is MergeOutcome.CREATED
    again = await b.upsert(booked(owners, version=2, plot=None), by="cloud")
    assert again.outcome is MergeOutcome.DUPLICATE
    stale = await b.upsert(booked(owners, version=1, plot=None), by="cloud")
    assert stale.outcome is MergeOutcome.STALE
    assert b.get("bk-1").plot == "main"  # type: ignore[union-attr]
    newer = await b.upsert(booked(owners, version=3, plot=None), by="cloud")
    assert newer.outcome is MergeOutcome.APPLIED
    assert b.get("bk-1").plot is None
    assert len(owners.streams("events/booking")) == 2  # created, applied: not the no-ops
    kinds = [e["detail"]["outcome"] for e in owners.streams("events/audit")]
    assert kinds == ["created", "duplicate", "stale", "applied"]
    assert (await audit_rows.verify(owners.availability.store)).ok


async def test_cancel_by_cloud_version_and_by_a_technician(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners, "bk-1"), by="cloud")
    await b.upsert(booked(owners, "bk-2"), by="cloud")
    done = await b.cancel("bk-1", by="cloud", version=2)
    assert done.booking.status is BookingStatus.CANCELED
    assert done.booking.version == 2
    assert (await b.cancel("bk-1", by="cloud", version=2)).outcome is MergeOutcome.DUPLICATE
    local = await b.cancel("bk-2", by="alice")
    assert local.booking.status is BookingStatus.CANCELED
    assert local.booking.version == 1
    # The cloud's next version still counts after a local cancel.
    back = await b.upsert(booked(owners, "bk-2", version=2), by="cloud")
    assert back.booking.status is BookingStatus.RESERVED
    with pytest.raises(KeyError, match="bk-9"):
        await b.cancel("bk-9", by="alice")
    audit = owners.streams("events/audit")
    assert [(e["kind"], e["by"]) for e in audit if e["subject"] == "bk-2"][1] == (
        "booking-cancel",
        "alice",
    )


async def test_a_fact_observed_on_site_wins_over_an_older_cancel(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    issued = owners.clock.wall()
    owners.clock.advance(60)
    await b.observe("bk-1", PhaseEvent.ADMIT)
    late = booked(owners, version=2, status=BookingStatus.CANCELED, updated_at=issued)
    kept = await b.upsert(late, by="cloud")
    assert kept.outcome is MergeOutcome.FACT_KEPT
    assert kept.booking.status is BookingStatus.RESERVED
    assert kept.booking.phase is Phase.ADMITTED
    no_show = await b.upsert(booked(owners, version=3, status=BookingStatus.NO_SHOW), by="cloud")
    assert no_show.outcome is MergeOutcome.FACT_KEPT


async def test_bookings_assignments_and_audit_survive_a_reopen(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR - 600)  # inside the 30 min lead
    await b.tick()
    bay = b.bay_of("bk-1")
    assert bay == "B01"  # the least capable fitting bay: left only
    assert b.get("bk-1").phase is Phase.ASSIGNED  # type: ignore[union-attr]
    await owners.close()
    b2 = await owners.open()
    assert b2.get("bk-1") == b.get("bk-1")
    assert b2.bay_of("bk-1") == "B01"
    await b2.tick()
    assert owners.streams("events/assignment")[-1]["to_bay"] == "B01"  # no second change
    assert len(owners.streams("events/assignment")) == 1
    assert (await audit_rows.verify(owners.availability.store)).ok


async def test_a_disabled_bay_is_reassigned_with_history_and_reason(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR - 600)
    await b.tick()
    await owners.availability.change(
        "B01", available=False, reason="cable cut", until=None, source=Source.TECHNICIAN, by="bob"
    )
    await b.tick()
    assert b.bay_of("bk-1") == "B03"
    history = await b.history("bk-1")
    assert [(c.from_bay, c.to_bay, c.reason) for c in history] == [
        (None, "B01", "assigned"),
        ("B01", "B03", "bay disabled; assigned"),
    ]
    assert owners.streams("events/assignment")[-1]["reason"] == "bay disabled; assigned"


async def test_an_occupied_bay_is_reassigned(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR - 600)
    await b.tick()
    b.occupancy = lambda: {"B01": BayState.OCCUPIED}  # an ad-hoc truck took it
    await b.tick()
    assert b.bay_of("bk-1") == "B03"
    assert (await b.history("bk-1"))[-1].reason == "bay occupied; assigned"


async def test_a_no_show_releases_the_bay(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR)
    await b.tick()
    assert b.bay_of("bk-1") == "B01"
    owners.clock.advance(901)  # past start + no-show timeout
    await b.tick()
    assert b.get("bk-1").status is BookingStatus.NO_SHOW  # type: ignore[union-attr]
    assert b.bay_of("bk-1") is None
    assert (await b.history("bk-1"))[-1].reason == "released: booking no_show"
    assert "no-show" in [e["kind"] for e in owners.streams("events/audit")]


async def test_parked_charged_and_overstaying_from_the_bay_state(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    owners.clock.advance(HOUR)
    await b.tick()
    await b.observe("bk-1", PhaseEvent.ADMIT)
    state = {"B01": BayState.OCCUPIED}
    b.occupancy = lambda: state
    await b.tick()
    assert b.get("bk-1").phase is Phase.ON_BAY  # type: ignore[union-attr]
    state["B01"] = BayState.CHARGING
    await b.tick()
    assert b.get("bk-1").phase is Phase.CHARGING  # type: ignore[union-attr]
    state["B01"] = BayState.FINISHING  # charge ended, truck still there
    owners.clock.advance(HOUR + 600)  # end + late stop, not yet past
    await b.tick()
    assert b.get("bk-1").phase is Phase.CHARGING  # type: ignore[union-attr]
    owners.clock.advance(1)
    await b.tick()
    assert b.get("bk-1").phase is Phase.OVERSTAY  # type: ignore[union-attr]
    assert owners.streams("events/booking")[-1]["event"] == "overstay"
    assert owners.streams("events/booking")[-1]["bay"] == "B01"
    state["B01"] = BayState.AVAILABLE
    await b.tick()
    assert b.get("bk-1").phase is Phase.DEPARTED  # type: ignore[union-attr]


async def test_the_power_controller_sees_the_booked_truck_on_its_bay(owners: Owners) -> None:
    # `on_bays` is what the daemon hands the power controller (runtime.py): the booked
    # truck's estimates replace the site's defaults on its bay, from admission to departure.
    b = owners.bookings
    await b.upsert(booked(owners, energy_wanted_wh=150_000.0), by="cloud")
    owners.clock.advance(HOUR)
    await b.tick()
    assert b.bay_of("bk-1") == "B01"
    assert b.on_bays() == {}  # assigned, not yet on site
    await b.observe("bk-1", PhaseEvent.ADMIT)
    stay = b.on_bays()["B01"]
    assert (stay.booking, stay.energy_wanted_wh.value) == ("bk-1", 150_000.0)  # type: ignore[union-attr]
    assert stay.departure.value == b.get("bk-1").period.end  # type: ignore[union-attr]
    state = {"B01": BayState.CHARGING}
    b.occupancy = lambda: state
    await b.tick()
    await b.tick()
    assert b.get("bk-1").phase is Phase.CHARGING  # type: ignore[union-attr]
    assert set(b.on_bays()) == {"B01"}
    state["B01"] = BayState.AVAILABLE
    await b.tick()
    assert b.on_bays() == {}  # departed


async def test_rows_match_memory(owners: Owners) -> None:
    await owners.bookings.upsert(booked(owners), by="cloud")
    rows = await bookings_rows.load(owners.availability.store)
    assert rows == [(owners.bookings.get("bk-1"), None)]


async def test_a_failing_store_is_a_warning_and_the_decision_still_holds(owners: Owners) -> None:
    await owners.availability.store.close()  # every write now fails
    b = owners.bookings
    result = await b.upsert(booked(owners), by="cloud")
    assert result.outcome is MergeOutcome.CREATED
    assert b.get("bk-1") is not None
    assert any("bookings not persisted" in w for w in b.warnings)
    owners.clock.advance(HOUR - 600)
    await b.tick()  # assignment goes on without the store
    assert b.bay_of("bk-1") == "B01"


def test_the_wire_form_round_trips_and_names_bad_fields() -> None:
    o = Owners.__new__(Owners)
    o.clock = SimClock()
    original = booked(o, energy_wanted_wh=300_000.0)
    assert from_wire(to_wire(original)) == original
    bad = {**to_wire(original), "start": "2026-01-01T10:00"}
    with pytest.raises(BookingInvalid, match=r"booking 'bk-1': start: .* needs an offset"):
        from_wire(bad)
    with pytest.raises(BookingInvalid, match="booking 'bk-1': connector is required"):
        from_wire({k: v for k, v in to_wire(original).items() if k != "connector"})
    with pytest.raises(BookingInvalid, match="'XYZ' is not a valid Connector"):
        from_wire({**to_wire(original), "connector": "XYZ"})


async def test_gate_records_reach_the_chained_log_and_admit_the_booking(owners: Owners) -> None:
    from edge.gates.store_audit import StoreAudit

    owner = owners.bookings
    await owner.upsert(booked(owners), by="cloud")
    audit = StoreAudit(owner)
    audit.record("admission", gate="in-1", reader="rfid", reason="Accepted", booking="bk-1")
    audit.record("admission", gate="in-1", reader="rfid", reason="Full", booking="")
    audit.record("admission", gate="in-1", reader="rfid", reason="Accepted", booking="nope")
    await audit.drain()
    assert owner.get("bk-1").phase is Phase.ADMITTED  # type: ignore[union-attr]
    entries = await audit_rows.read(owner.store)
    kinds = [(e.kind, e.subject) for e in entries]
    assert kinds.count(("admission", "in-1")) == 3
    assert ("admit", "bk-1") in kinds
    assert (await audit_rows.verify(owner.store)).ok


async def test_an_admission_goes_out_as_one_valid_admission_event(owners: Owners) -> None:
    from edge.access.entry import CredentialRead, ReadKind
    from edge.gates.decide import admission_inputs
    from edge.gates.store_audit import StoreAudit
    from edge.uplink.api_schemas import PAYLOADS, validator
    from tests.test_access_entry import T0, booking, run

    _, outcome = run([booking()], CredentialRead(ReadKind.RFID, "04aabbcc", "rfid", T0))
    d = outcome.decision
    assert d is not None
    sent: list[tuple[str, dict[str, object]]] = []
    owners.bookings.listen(lambda stream, payload: sent.append((stream, payload)))
    audit = StoreAudit(owners.bookings)
    fields = {"gate": "in-1", "reader": "rfid", "credential": "rfid", "reason": d.reason.value}
    audit.record(
        "admission", **fields, detail=d.detail, booking="bk1", **admission_inputs(d.inputs)
    )
    await audit.drain()
    events = [p for stream, p in sent if stream == "events/admission"]
    assert len(events) == 1
    assert events[0]["reason"] == "Accepted"
    assert events[0]["booking_version"] == 1
    assert events[0]["free_bays"] == d.inputs.free_bays
    assert list(validator(PAYLOADS["events/admission"]).iter_errors(events[0])) == []
    assert list(validator("admission-event.json").iter_errors({**events[0], "reason": "Maybe"}))
