"""Plates, duplicate reads, anti-passback, one-time nonces and signed QR tokens (real Ed25519)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.access.bookings import Booking, BookingStatus, Credentials, Period, Terms
from edge.access.credentials import (
    Inside,
    Read,
    ReadLog,
    ReadVerdict,
    RemoteVerdict,
    Spent,
    check_remote,
    screen_read,
    vehicle_keys,
)
from edge.access.plates import (
    CredentialInvalid,
    MatchKind,
    PlateIndex,
    canonical_plate,
    match_plate,
    normalise_plate,
)
from edge.access.qr_token import MAX_TOKEN_CHARS, TokenVerdict, spend, verify_token
from edge.qr_signature import KeyInvalid, SiteKeys, TokenIssuer
from edge.siteconf.model import Connector, InletSide

T0 = 1_767_225_600.0


def booking(i: int, plate: str, start: float = T0, **kw: object) -> Booking:
    b = Booking(
        id=f"bk{i}",
        version=1,
        period=Period(start, start + 3600),
        connector=Connector.CCS,
        inlet_side=InletSide.LEFT,
        plot="p1",
        credentials=Credentials(tractor_plate=plate, trailer_plate=f"TRL{i}"),
        terms=Terms(early_start_s=600, noshow_timeout_s=900),
    )
    return replace(b, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("1-abc-123", "1ABC123"),
        (" ab 12 cd ", "AB12CD"),
        ("B.123.XY", "B123XY"),
        ("d·ab/1", "DAB1"),
    ],
)
def test_normalise(raw: str, plate: str) -> None:
    assert normalise_plate(raw) == plate


@pytest.mark.parametrize("raw", ["", "A", "AUDI∞", "X" * 40, "AB;DROP", "ÄB123"])
def test_not_a_plate(raw: str) -> None:
    with pytest.raises(CredentialInvalid, match="plate read"):
        normalise_plate(raw)


def test_confusables_share_a_bucket() -> None:
    assert canonical_plate("OB5IZG") == canonical_plate("085126") == "085126"


BOOKED = booking(1, "AB-123-CD")


@pytest.mark.parametrize(
    ("read", "kind"),
    [
        ("ab123cd", MatchKind.EXACT),
        ("A8123CD", MatchKind.CONFUSABLE),  # B read as 8
        ("AB1Z3C0", MatchKind.CONFUSABLE),  # 2 as Z, D as 0
        ("AB123CX", MatchKind.FUZZY),  # one character off, nobody else close
        ("AB12CD", MatchKind.FUZZY),  # one character dropped
        ("XY123CD", MatchKind.NONE),  # two off
        ("TRL1", MatchKind.EXACT),  # the trailer plate
    ],
)
def test_near_miss_plates_against_one_active_booking(read: str, kind: MatchKind) -> None:
    m = match_plate(read, PlateIndex.build([BOOKED]), T0)
    assert m.kind is kind
    assert (m.booking is BOOKED) == (kind is not MatchKind.NONE)


def test_fuzzy_only_against_bookings_active_in_their_window() -> None:
    later = booking(1, "AB-123-CD", start=T0 + 7200)
    assert match_plate("A8123CD", PlateIndex.build([later]), T0).kind is MatchKind.NONE
    assert (
        match_plate("AB123CD", PlateIndex.build([later]), T0).kind is MatchKind.EXACT
    )  # exact: window later
    cancelled = replace(BOOKED, status=BookingStatus.CANCELED)
    assert match_plate("AB123CD", PlateIndex.build([cancelled]), T0).kind is MatchKind.NONE


def test_two_bookings_one_confusable_apart_are_ambiguous() -> None:
    twins = [booking(1, "AB123CD"), booking(2, "A8123CD")]
    m = match_plate(
        "AB123C0", PlateIndex.build(twins), T0
    )  # D/0: equally close to both once bucketed
    assert m.kind is MatchKind.AMBIGUOUS
    assert set(m.candidates) == {"bk1", "bk2"}
    near = [booking(1, "AB123CD"), booking(2, "AB123CE")]
    assert (
        match_plate("AB123CX", PlateIndex.build(near), T0).kind is MatchKind.AMBIGUOUS
    )  # runner-up as close


def test_a_far_runner_up_does_not_block_a_fuzzy_match() -> None:
    two = PlateIndex.build([booking(1, "AB123CD"), booking(2, "XY999ZZ")])
    assert match_plate("AB123CX", two, T0).kind is MatchKind.FUZZY


def test_a_card_held_at_the_reader_for_20_s_is_one_read() -> None:
    log, verdicts = ReadLog(), []
    for i in range(41):
        t = T0 + i * 0.5
        log, v = screen_read(log, Read("qr-1", "rfid:04AABB", t), t)
        verdicts.append(v)
    assert verdicts.count(ReadVerdict.FRESH) == 1
    log, v = screen_read(log, Read("qr-1", "rfid:04AABB", T0 + 40), T0 + 40)
    assert v is ReadVerdict.FRESH  # taken away and shown again later: a new read


def test_replayed_and_stale_camera_events() -> None:
    log, v = screen_read(ReadLog(), Read("cam", "plate:X1", T0, "uuid-1"), T0)
    assert v is ReadVerdict.FRESH
    _, v = screen_read(log, Read("cam2", "plate:Y2", T0 + 1, "uuid-1"), T0 + 1)
    assert v is ReadVerdict.REPLAYED
    _, v = screen_read(log, Read("cam", "plate:X1", T0 - 600, "uuid-2"), T0)
    assert v is ReadVerdict.STALE  # a 10-minute-old event
    _, v = screen_read(log, Read("cam", "plate:X1", T0 + 7200, "uuid-3"), T0)
    assert v is ReadVerdict.STALE  # camera clock two hours ahead


def test_anti_passback_and_exit_by_trailer_plate() -> None:
    keys = vehicle_keys(BOOKED, {"plate:AB123CD"})
    inside = Inside().enter(keys, T0)
    assert inside.holds({"plate:AB123CD"}, T0 + 60, max_stay_s=86_400)
    out = inside.leave(vehicle_keys(BOOKED, {"plate:TRL1"}))
    assert not out.holds(keys, T0 + 60, max_stay_s=86_400)
    assert not inside.holds(keys, T0 + 2 * 86_400, max_stay_s=86_400)  # missed exit expires


def test_remote_commands_run_once_and_never_late() -> None:
    spent, v = check_remote(Spent(), "n1", T0 + 30, T0)
    assert v is RemoteVerdict.OK
    assert check_remote(spent, "n1", T0 + 30, T0 + 1)[1] is RemoteVerdict.REPLAYED
    assert check_remote(spent, "n2", T0 + 30, T0 + 600)[1] is RemoteVerdict.EXPIRED


ISSUER = TokenIssuer(key_id=3)
KEYS = SiteKeys({3: ISSUER.public_bytes()})


def token(nbf: float = T0 - 60, exp: float = T0 + 3600, **kw: str) -> str:
    return ISSUER.issue("bk1", int(nbf), int(exp), **kw)


def test_a_valid_token_verifies_offline_once() -> None:
    t = token(nonce="0011223344556677")
    check = verify_token(t, KEYS, Spent(), T0)
    assert check.verdict is TokenVerdict.OK
    assert check.claims is not None
    assert (check.claims.booking_id, check.claims.nonce) == ("bk1", "0011223344556677")
    spent = spend(Spent(), check.claims, T0)
    assert verify_token(t, KEYS, spent, T0 + 5).verdict is TokenVerdict.REPLAYED
    assert len(t) <= MAX_TOKEN_CHARS


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        (token(exp=T0 - 120), TokenVerdict.EXPIRED),
        (token(nbf=T0 + 600), TokenVerdict.NOT_YET_VALID),
        (token(exp=T0 + 30 * 86_400), TokenVerdict.MALFORMED),  # too long-lived
        (TokenIssuer(key_id=3).issue("bk1", int(T0), int(T0 + 60)), TokenVerdict.BAD_SIGNATURE),
        (TokenIssuer(key_id=9).issue("bk1", int(T0), int(T0 + 60)), TokenVerdict.BAD_SIGNATURE),
        (token()[:-2], TokenVerdict.MALFORMED),
        (token().lower(), TokenVerdict.MALFORMED),
        ("EQ2" + token()[3:], TokenVerdict.MALFORMED),
        (token() + "00" * 200, TokenVerdict.MALFORMED),
        ("EQ1" + "41" * 10, TokenVerdict.MALFORMED),
        ("", TokenVerdict.MALFORMED),
    ],
)
def test_bad_tokens(text: str, verdict: TokenVerdict) -> None:
    assert verify_token(text, KEYS, Spent(), T0).verdict is verdict


VALID = token()


@given(st.integers(3, len(VALID) - 1), st.sampled_from("0123456789ABCDEF"))
def test_any_flipped_character_is_refused(pos: int, ch: str) -> None:
    flipped = VALID[:pos] + ch + VALID[pos + 1 :]
    check = verify_token(flipped, KEYS, Spent(), T0)
    assert (check.verdict is TokenVerdict.OK) == (flipped == VALID)


def test_site_keys_are_checked() -> None:
    with pytest.raises(KeyInvalid, match="32"):
        SiteKeys({1: b"short"})
    with pytest.raises(KeyInvalid, match="hex"):
        SiteKeys.from_hex({1: "zz"})
