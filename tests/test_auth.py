"""Authorization: the local list's updates (SendLocalList semantics, full updates in parts),
the decision order and the offline policy, and the authorizer over a real local store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.access.bookings import Booking, BookingStatus, Credentials, Period
from edge.auth import wire
from edge.auth.authorizer import Authorizer
from edge.auth.decide import after_cloud, before_cloud
from edge.auth.local_list import (
    Assembly,
    PartInvalid,
    VersionMismatch,
    add_part,
    apply_differential,
    assemble,
)
from edge.auth.model import (
    AuthSource,
    AuthStatus,
    CloudAnswer,
    ListEntry,
    ListUpdate,
    LocalList,
    UpdateType,
)
from edge.clock import SimClock
from edge.siteconf.model import Authorization, Connector, InletSide
from edge.store.local_store import LocalStore
from edge.uplink.api_schemas import check_message
from edge.uplink.authorization import CloudAsk
from edge.uplink.commands import MAX_COMMAND_BYTES, Command, CommandRegistry, load_schema, parse
from tests.polling import wait_until

NOW = 1_800_000_000.0
POLICY = Authorization()


def entry(token: str, status: AuthStatus = AuthStatus.ACCEPTED, **kw: Any) -> ListEntry:
    return ListEntry(token, status, **kw)


def diff(version: int, *pairs: tuple[str, ListEntry | None]) -> ListUpdate:
    return ListUpdate(version, UpdateType.DIFFERENTIAL, pairs)


def full(version: int, part: int, parts: int, *tokens: str) -> ListUpdate:
    return ListUpdate(version, UpdateType.FULL, tuple((t, entry(t)) for t in tokens), part, parts)


def test_differential_needs_a_higher_version_and_removes_without_status() -> None:
    one = apply_differential(LocalList(), diff(1, ("AA", entry("AA")), ("BB", entry("BB"))))
    two = apply_differential(one, diff(2, ("AA", None)))
    assert set(two.entries) == {"BB"}
    with pytest.raises(VersionMismatch, match="above the list's 2"):
        apply_differential(two, diff(2, ("CC", entry("CC"))))


def test_full_update_in_parts_applies_only_when_all_arrived() -> None:
    old = LocalList(3, {"OLD": entry("OLD")})
    a = add_part(old, Assembly(), full(4, 2, 3, "B"))
    a = add_part(old, a, full(4, 1, 3, "A"))
    assert not a.complete()
    with pytest.raises(PartInvalid, match="2 of 3 parts"):
        assemble(a)
    a = add_part(old, a, full(4, 3, 3, "C"))
    new = assemble(a)
    assert (new.version, set(new.entries)) == (4, {"A", "B", "C"})


def test_parts_of_a_newer_version_replace_an_unfinished_one() -> None:
    old = LocalList(3)
    a = add_part(old, Assembly(), full(4, 1, 2, "A"))
    a = add_part(old, a, full(5, 1, 2, "X"))
    assert (a.version, list(a.received)) == (5, [1])
    with pytest.raises(VersionMismatch, match="older than version 5"):
        add_part(old, a, full(4, 2, 2, "B"))
    with pytest.raises(PartInvalid, match="has 2 parts"):
        add_part(old, a, full(5, 2, 3, "Y"))
    with pytest.raises(VersionMismatch, match="older than the list's 3"):
        add_part(old, Assembly(), full(2, 1, 1, "Z"))


def test_the_cloud_split_fits_every_part_in_one_command() -> None:
    entries = [
        {"id_token": f"{i:014X}", "status": "Accepted", "expiry": "2027-06-01T00:00:00Z"}
        for i in range(2000)
    ]
    args = wire.split_full(7, entries)
    assert len(args) > 5
    reg = CommandRegistry()

    async def nothing(a: dict[str, Any]) -> dict[str, Any]:
        return {}

    reg.register("auth-list-update", load_schema("cmd-auth-list-update.json"), nothing)
    for n, part in enumerate(args):
        raw = json.dumps({"request_id": f"auth-7-{n}", "args": part})  # with spaces
        assert len(raw.encode()) <= MAX_COMMAND_BYTES
        assert isinstance(parse("auth-list-update", raw.encode(), reg.validators), Command)
    local, a = LocalList(), Assembly()
    for part in reversed(args):  # any order
        a = add_part(local, a, wire.update_from(part))
    assert len(assemble(a).entries) == 2000


@settings(max_examples=100, deadline=None)
@given(st.permutations(range(6)), st.integers(1, 6))
def test_any_order_of_parts_gives_the_same_list(order: list[int], dup: int) -> None:
    parts = [full(9, i + 1, 6, f"T{i}a", f"T{i}b") for i in range(6)]
    a = Assembly()
    for i in [*order[:dup], *order]:  # some parts delivered twice
        a = add_part(LocalList(1), a, parts[i])
    assert set(assemble(a).entries) == {f"T{i}{s}" for i in range(6) for s in "ab"}


def booking(uid: str, **kw: Any) -> Booking:
    return Booking(
        "bk-1",
        1,
        Period(NOW - 600, NOW + 3600),
        Connector.CCS,
        InletSide.LEFT,
        None,
        Credentials(rfid_uid=uid),
        **kw,
    )


def local_first(token: str, bay: str | None, local: LocalList, books: list[Booking] = []):  # noqa: B006
    return before_cloud(token, bay, NOW, local, books, lambda b: "B01", POLICY)


def test_a_booking_credential_authorizes_its_own_bay_only() -> None:
    books = [booking("04a1b2")]
    decided, _ = local_first("04A1B2", "B01", LocalList(), books)
    assert decided is not None
    assert (decided.status, decided.source, decided.booking) == (
        AuthStatus.ACCEPTED,
        AuthSource.BOOKING,
        "bk-1",
    )
    assert local_first("04A1B2", "B02", LocalList(), books)[0] is None  # ask the cloud
    canceled = [booking("04a1b2", status=BookingStatus.CANCELED)]
    assert local_first("04A1B2", "B01", LocalList(), canceled)[0] is None


def test_list_statuses_expiry_and_bay_limits() -> None:
    local = LocalList(
        1,
        {
            "OK": entry("OK"),
            "BL": entry("BL", AuthStatus.BLOCKED),
            "OLD": entry("OLD", expiry=NOW - 1),
            "B2": entry("B2", bay="B02"),
        },
    )
    got = {t: local_first(t, "B01", local)[0] for t in ("OK", "BL", "OLD", "B2", "NEW")}
    assert got["OK"] is not None
    assert got["OK"].status is AuthStatus.ACCEPTED
    assert got["BL"] is not None
    assert got["BL"].status is AuthStatus.BLOCKED
    assert got["OLD"] is not None
    assert got["OLD"].status is AuthStatus.EXPIRED
    assert got["B2"] is not None
    assert got["B2"].status is AuthStatus.INVALID
    assert got["NEW"] is None


def test_offline_policy() -> None:
    known = local_first("OK", "B01", LocalList(1, {"OK": entry("OK")}))[1]
    strict = Authorization(offline_accept_known=False)
    lenient = Authorization(offline_accept_unknown=True)
    assert after_cloud("OK", "B01", known, None, POLICY, "down").status is AuthStatus.ACCEPTED
    assert after_cloud("OK", "B01", known, None, strict, "down").status is AuthStatus.INVALID
    unknown = after_cloud("NEW", "B01", None, None, POLICY, "down")
    assert (unknown.status, unknown.source) == (AuthStatus.UNKNOWN, AuthSource.OFFLINE_POLICY)
    assert after_cloud("NEW", "B01", None, None, lenient, "").status is AuthStatus.ACCEPTED
    cloud = after_cloud("NEW", "B01", None, CloudAnswer(AuthStatus.ACCEPTED, bay="B02"), POLICY, "")
    assert (cloud.status, cloud.source) == (AuthStatus.INVALID, AuthSource.CLOUD)


def test_without_pre_authorize_a_listed_token_asks_the_cloud_first() -> None:
    local = LocalList(1, {"OK": entry("OK")})
    policy = Authorization(local_pre_authorize=False)
    decided, listed = before_cloud("ok", "B01", NOW, local, [], lambda b: None, policy)
    assert decided is None
    assert listed is not None
    assert listed.accepted


class Cloud:
    def __init__(self, answer: CloudAnswer | None) -> None:
        self.answer, self.asked = answer, 0

    async def ask(self, id_token: str, bay: str | None, timeout_s: float) -> CloudAnswer | None:
        self.asked += 1
        return self.answer


def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "site.db", wall=lambda: NOW)


async def test_authorizer_persists_the_list_and_parts_across_a_restart(tmp_path: Path) -> None:
    s = store(tmp_path)
    await s.open()
    a = Authorizer(POLICY, lambda: NOW, store=s, cloud=Cloud(None))
    await a.load()
    await a.update(full(2, 1, 1, "AA"))
    r = await a.update(full(3, 1, 2, "BB"))
    assert (r.outcome, r.version, r.parts_received) == ("part-stored", 2, 1)
    await s.close()
    s = store(tmp_path)
    await s.open()
    b = Authorizer(POLICY, lambda: NOW, store=s, cloud=Cloud(None))
    await b.load()
    assert (b.local.version, set(b.local.entries)) == (2, {"AA"})
    r = await b.update(full(3, 2, 2, "CC"))  # only the missing part is sent after a restart
    assert (r.outcome, r.version) == ("applied", 3)
    assert set(b.local.entries) == {"BB", "CC"}
    assert (await b.authorize("bb", "B01")).source is AuthSource.LOCAL_LIST
    await b.update(diff(4, ("DD", entry("DD", AuthStatus.BLOCKED))))
    await s.close()
    s = store(tmp_path)
    await s.open()
    c = Authorizer(POLICY, lambda: NOW, store=s)
    await c.load()
    assert (c.local.version, set(c.local.entries)) == (4, {"BB", "CC", "DD"})
    assert await s.read("SELECT count(*) FROM auth_list_parts") == [(0,)]
    await s.close()


async def test_authorizer_asks_the_cloud_only_for_what_it_cannot_decide() -> None:
    cloud = Cloud(CloudAnswer(AuthStatus.ACCEPTED, booking="bk-9"))
    a = Authorizer(POLICY, lambda: NOW, cloud=cloud)
    await a.load()
    await a.update(diff(1, ("AA", entry("AA"))))
    assert (await a.authorize("AA", "B01")).source is AuthSource.LOCAL_LIST
    assert cloud.asked == 0
    got = await a.authorize("ZZ", "B01")
    assert (got.status, got.source, got.booking, cloud.asked) == (
        AuthStatus.ACCEPTED,
        AuthSource.CLOUD,
        "bk-9",
        1,
    )
    offline = Authorizer(POLICY, lambda: NOW, cloud=Cloud(None))
    await offline.load()
    got = await offline.authorize("ZZ", "B01")
    assert (got.status, got.source) == (AuthStatus.UNKNOWN, AuthSource.OFFLINE_POLICY)
    assert "no answer from the cloud within 5 s" in got.detail


async def test_a_store_that_fails_refuses_the_update_and_keeps_the_list(tmp_path: Path) -> None:
    s = store(tmp_path)
    await s.open()
    a = Authorizer(POLICY, lambda: NOW, store=s)
    await a.load()
    await a.update(diff(1, ("AA", entry("AA"))))
    await s.close()  # the store is gone: the write raises
    with pytest.raises(Exception, match="not open"):
        await a.update(diff(2, ("BB", entry("BB"))))
    assert (a.local.version, set(a.local.entries)) == (1, {"AA"})


class Link:
    def __init__(self, connected: bool) -> None:
        self.connected, self.sent = connected, []

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int | None:
        if not self.connected:
            return None
        self.sent.append((topic, json.loads(payload)))
        return len(self.sent)


async def test_cloud_ask_answer_timeout_offline_and_late() -> None:
    clock = SimClock()
    link = Link(connected=True)
    ask = CloudAsk(link, "hubs/x", "x", clock)
    pending = asyncio.create_task(ask.ask("AA", "B01", 5.0))
    await wait_until(lambda: link.sent, 5, "request")
    topic, body = link.sent[0]
    assert topic == "hubs/x/req/authorize"
    assert check_message("hubs/x", topic, json.dumps(body).encode()) == []
    await ask.reply({"ask_id": body["ask_id"], "status": "Blocked"})
    got = await pending
    assert got is not None
    assert got.status is AuthStatus.BLOCKED
    clock.advance(10.0)  # the first request's cancelled timer leaves the clock's queue
    assert clock.next_deadline() is None
    pending = asyncio.create_task(ask.ask("BB", "B01", 5.0))
    await wait_until(lambda: len(link.sent) == 2 and clock.next_deadline() is not None, 5, "2")
    clock.advance(4.9)
    for _ in range(50):  # let every woken task run (bounded in count, no wall time)
        await asyncio.sleep(0)
    assert not pending.done()  # not before the timeout
    clock.advance(0.2)
    assert await pending is None
    late = await ask.reply({"ask_id": link.sent[1][1]["ask_id"], "status": "Accepted"})
    assert late["applied"] is False
    assert (ask.answered, ask.timed_out, ask.late) == (1, 1, 1)
    assert not ask.waiting
    assert await CloudAsk(Link(connected=False), "p", "x", clock).ask("CC", None, 5.0) is None
