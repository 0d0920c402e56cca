"""An exit read is the booking's DEPART fact: phase DEPARTED, its bay and anti-passback
released (issue 10, item 6). Pure (`exit_` names the booking) and through the shell (the
entry decider, the store audit and the bookings owner)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from edge.access.bookings import BookingStatus, Credentials, Phase, PhaseEvent
from edge.access.entry import CredentialRead, Directory, EntryRules, Ledger, ReadKind, exit_
from edge.access.gate_types import EventKind
from edge.clock import SimClock
from edge.gates.decide import EntryDecider
from edge.gates.store_audit import StoreAudit
from edge.qr_signature import SiteKeys
from edge.sessions import BayState
from edge.siteconf.model import GateLane, PointRef
from edge.store import audit_rows
from tests.test_access_entry import ISSUER, RULES, T0, booking
from tests.test_bookings_owner import HOUR, Owners, booked


@pytest.fixture
async def owners(tmp_path: Path) -> AsyncIterator[Owners]:
    o = Owners(tmp_path, SimClock())
    await o.open()
    yield o
    await o.close()


def test_a_signed_qr_token_names_its_booking_at_the_exit_even_once_spent() -> None:
    directory = Directory.build([booking()])
    token = ISSUER.issue("bk1", int(T0) - 60, int(T0) + 600)
    read = CredentialRead(ReadKind.QR, token, "qr-out", T0 + 7200)  # expired by now
    _, exited = exit_(Ledger(), read, directory, T0 + 7200, RULES.verifier)
    assert exited.booking == "bk1"
    flipped = token[:-2] + ("00" if token[-2:] != "00" else "11")  # a byte of the signature
    _, forged = exit_(Ledger(), replace(read, value=flipped), directory, T0, RULES.verifier)
    assert forged.booking is None
    _, unverified = exit_(Ledger(), read, directory, T0)  # no key given: names nobody
    assert unverified.booking is None


def test_a_charged_truck_fulfilled_booking_still_matches_at_the_exit() -> None:
    charged = booking(status=BookingStatus.FULFILLED, phase=Phase.CHARGING)
    inside = Ledger(inside=Ledger().inside.enter({"plate:AB123CD", "booking:bk1"}, T0))
    read = CredentialRead(ReadKind.PLATE, "TRL-1", "cam-out", T0 + 3000)
    ledger, exited = exit_(inside, read, Directory.build([charged]), T0 + 3000)
    assert exited == exited.__class__(matched=True, booking="bk1")
    assert not ledger.inside.since  # passback released: the truck may come back
    gone = booking(status=BookingStatus.FULFILLED, phase=Phase.DEPARTED)
    _, after = exit_(Ledger(), read, Directory.build([gone]), T0 + 3000)
    assert after.booking is None  # a departed booking is no longer looked up


def _lane(direction: str) -> GateLane:
    io = PointRef("io-gate", "input_1")
    return GateLane(f"{direction}-main", "main", direction, io, io, io, None)


async def test_an_exit_read_departs_the_booking_and_frees_its_bay(owners: Owners) -> None:
    b = owners.bookings
    creds = Credentials(tractor_plate="1-ABC-123", trailer_plate="TR-77", rfid_uid="04AABBCC")
    await b.upsert(booked(owners, credentials=creds), by="cloud")
    owners.clock.advance(HOUR)
    await b.tick()
    assert b.bay_of("bk-1") == "B01"
    audit = StoreAudit(b)
    rules = EntryRules(SiteKeys({}))
    decider = EntryDecider(b, owners.config.bays, lambda: {"B01": BayState.AVAILABLE}, rules, audit)
    now = owners.clock.wall()
    granted = decider.entry(
        _lane("entry"), CredentialRead(ReadKind.RFID, "04aabbcc", "r", now), now
    )
    assert granted is not None
    assert granted.kind is EventKind.GRANT
    await audit.drain()
    assert b.get("bk-1").phase is Phase.ADMITTED  # type: ignore[union-attr]
    state: dict[str, BayState] = {"B01": BayState.CHARGING}
    b.occupancy = lambda: state
    await b.tick()  # parked, then charging (FULFILLED) over two ticks
    await b.tick()
    assert b.get("bk-1").status is BookingStatus.FULFILLED  # type: ignore[union-attr]
    assert b.bay_of("bk-1") == "B01"

    owners.clock.advance(1800)
    now = owners.clock.wall()
    decider.exit(_lane("exit"), CredentialRead(ReadKind.PLATE, "TR77", "cam-out", now), now)
    await audit.drain()
    after = b.get("bk-1")
    assert after is not None
    assert after.phase is Phase.DEPARTED
    assert b.bay_of("bk-1") is None
    assert not decider.ledger.inside.since  # anti-passback released
    departs: list[dict[str, Any]] = [
        e for e in owners.streams("events/booking") if e["event"] == PhaseEvent.DEPART.value
    ]
    assert len(departs) == 1
    assert departs[0]["booking"]["phase"] == "DEPARTED"
    entries = await audit_rows.read(b.store)
    assert ("exit", "exit-main") in [(e.kind, e.subject) for e in entries]
    assert ("depart", "bk-1") in [(e.kind, e.subject) for e in entries]
    assert (await audit_rows.verify(b.store)).ok


async def test_an_exit_of_an_unknown_truck_departs_nothing(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")
    audit = StoreAudit(b)
    decider = EntryDecider(b, owners.config.bays, dict, EntryRules(SiteKeys({})), audit)
    now = owners.clock.wall()
    decider.exit(_lane("exit"), CredentialRead(ReadKind.PLATE, "ZZ999ZZ", "cam", now), now)
    # a booked plate whose truck never came in: the exit is recorded, the phase stays
    decider.exit(_lane("exit"), CredentialRead(ReadKind.PLATE, "1ABC123", "cam", now), now)
    await audit.drain()
    assert b.get("bk-1").phase is Phase.SCHEDULED  # type: ignore[union-attr]
    kinds = [e.kind for e in await audit_rows.read(b.store)]
    assert kinds.count("exit") == 2
    assert "depart" not in kinds
