"""entry(): a credential read at a lane becomes a decision and a gate event; exits never refuse."""

from __future__ import annotations

from dataclasses import replace

from edge.access.admission import Reason, Site, VehicleClass, by_start
from edge.access.bookings import Booking, BookingStatus, Credentials, Period, Terms
from edge.access.credentials import ReadVerdict
from edge.access.entry import (
    CredentialRead,
    Directory,
    EntryRules,
    Ledger,
    Outcome,
    ReadKind,
    entry,
    exit_,
)
from edge.access.gate_types import EventKind
from edge.qr_signature import SiteKeys, TokenIssuer
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide

T0 = 1_767_225_600.0
ISSUER = TokenIssuer(key_id=1)
RULES = EntryRules(SiteKeys({1: ISSUER.public_bytes()}))
BAY = Bay("b1", "p1", "c1", Connector.CCS, 400, (InletSide.LEFT,))


def booking(i: int = 1, **kw: object) -> Booking:
    b = Booking(
        id=f"bk{i}",
        version=1,
        period=Period(T0, T0 + 3600),
        connector=Connector.CCS,
        inlet_side=InletSide.LEFT,
        plot="p1",
        credentials=Credentials("AB123CD", "TRL1", None, "04AABBCC"),
        terms=Terms(early_start_s=600, noshow_timeout_s=900),
    )
    return replace(b, **kw)  # type: ignore[arg-type]


def run(
    bookings: list[Booking],
    read: CredentialRead,
    ledger: Ledger | None = None,
    state: BayState = BayState.AVAILABLE,
) -> tuple[Ledger, Outcome]:
    site = Site([BAY], {"b1": state}, by_start(bookings))
    return entry(ledger or Ledger(), read, site, Directory.build(bookings), "p1", T0, RULES)


def test_rfid_of_a_booking_in_its_window_is_granted_and_recorded_inside() -> None:
    ledger, out = run([booking()], CredentialRead(ReadKind.RFID, "04aabbcc", "rfid", T0))
    assert out.event is not None
    assert out.event.kind is EventKind.GRANT
    assert {"rfid:04AABBCC", "plate:AB123CD", "plate:TRL1", "booking:bk1"} <= set(
        ledger.inside.since
    )


def test_dropped_reads_never_reach_the_gate() -> None:
    read = CredentialRead(ReadKind.PLATE, "AB123CD", "cam", T0, "ev-1")
    ledger, _ = run([booking()], read)
    _, again = run([booking()], read, ledger)
    assert again.screened is ReadVerdict.REPLAYED
    assert again.event is None
    _, old = run([booking()], replace(read, taken_at=T0 - 60, event_id="ev-2"))
    assert old.screened is ReadVerdict.STALE


def test_a_reissued_token_revokes_the_old_one_and_a_cancelled_booking_refuses() -> None:
    old = ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600), nonce="00000000000000aa")
    reissued = booking(credentials=Credentials(qr_nonce="00000000000000bb"))
    _, out = run([reissued], CredentialRead(ReadKind.QR, old, "qr", T0))
    assert out.decision.reason is Reason.INVALID
    cancelled = booking(status=BookingStatus.CANCELED)
    _, out = run([cancelled], CredentialRead(ReadKind.QR, old, "qr", T0))
    assert out.decision.reason is Reason.INVALID


def test_a_token_is_spent_only_by_an_entry_it_grants() -> None:
    code = ISSUER.issue("bk1", int(T0 - 60), int(T0 + 3600))
    read = CredentialRead(ReadKind.QR, code, "qr", T0, vehicle=VehicleClass.OTHER)
    ledger, out = run([booking()], read)  # the camera saw a car: referred, token not used up
    assert out.decision.reason is Reason.REFERRED
    assert not ledger.spent.until
    ledger, out = run([booking()], replace(read, reader="qr2", vehicle=VehicleClass.TRUCK), ledger)
    assert out.decision.reason is Reason.ACCEPTED
    assert ledger.spent.until


def test_an_unmatched_exit_still_opens_but_is_flagged() -> None:
    directory = Directory.build([booking()])
    read = CredentialRead(ReadKind.PLATE, "ZZ999ZZ", "cam-out", T0)
    _, exited = exit_(Ledger(), read, directory, T0)
    assert exited.matched is False
    inside = Ledger(inside=Ledger().inside.enter({"plate:AB123CD", "plate:TRL1"}, T0))
    ledger, exited = exit_(inside, replace(read, value="TRL-1"), directory, T0)
    assert exited.matched is True
    assert exited.booking == "bk1"
    assert not ledger.inside.since
