"""Finished bookings leave the store after `[access] keep_bookings_days`; the audit log,
append-only and hash-chained, keeps every decision about them (issue 10, leftover 4)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from edge.access.bookings import BookingStatus, Phase, PhaseEvent, prunable
from edge.clock import SimClock
from edge.store import audit_rows, bookings_rows
from tests.test_access_entry import T0, booking
from tests.test_bookings_owner import HOUR, Owners, booked

DAY = 86_400.0
KEEP = 30 * DAY
END = T0 + 3600  # the booking's slot end


@pytest.fixture
async def owners(tmp_path: Path) -> AsyncIterator[Owners]:
    o = Owners(tmp_path, SimClock())
    await o.open()
    yield o
    await o.close()


@pytest.mark.parametrize(
    ("status", "phase", "age_days", "expected"),
    [
        (BookingStatus.FULFILLED, Phase.DEPARTED, 31, True),
        (BookingStatus.FULFILLED, Phase.DEPARTED, 29, False),
        (BookingStatus.NO_SHOW, Phase.SCHEDULED, 30, True),
        (BookingStatus.CANCELED, Phase.ASSIGNED, 31, True),
        (BookingStatus.CANCELED, Phase.ADMITTED, 400, False),  # cancelled, truck still inside
        (BookingStatus.FULFILLED, Phase.OVERSTAY, 400, False),
        (BookingStatus.RESERVED, Phase.SCHEDULED, 400, False),  # not expired yet: the tick does
    ],
)
def test_what_may_be_pruned(
    status: BookingStatus, phase: Phase, age_days: int, expected: bool
) -> None:
    b = booking(status=status, phase=phase, phase_at=T0 if phase.on_site else None)
    assert prunable(b, END + age_days * DAY, KEEP) is expected


def test_age_counts_from_the_last_fact() -> None:
    late = booking(status=BookingStatus.FULFILLED, phase=Phase.DEPARTED, phase_at=END + 5 * DAY)
    assert not prunable(late, END + 31 * DAY, KEEP)  # left 5 days after its slot
    assert prunable(late, END + 35 * DAY, KEEP)


async def test_old_finished_bookings_leave_the_store_and_the_chain_stays(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners, "gone-1"), by="cloud")
    await b.upsert(booked(owners, "noshow-1"), by="cloud")
    await b.upsert(booked(owners, "future-1", period=replace(
        booked(owners).period, start=owners.clock.wall() + 60 * DAY,
        end=owners.clock.wall() + 60 * DAY + HOUR)), by="cloud")  # fmt: skip
    owners.clock.advance(HOUR)
    await b.tick()  # both assigned
    await b.observe("gone-1", PhaseEvent.ADMIT)
    await b.observe("gone-1", PhaseEvent.DEPART)
    owners.clock.advance(1000)
    await b.tick()  # noshow-1 expires
    assert b.get("noshow-1").status is BookingStatus.NO_SHOW  # type: ignore[union-attr]
    before = await audit_rows.read(b.store)

    owners.clock.advance(29 * DAY)
    await b.tick()
    assert b.get("gone-1") is not None  # not yet 30 days
    owners.clock.advance(2 * DAY)
    await b.tick()
    assert b.get("gone-1") is None
    assert b.get("noshow-1") is None
    assert b.get("future-1") is not None
    stored = [bk.id for bk, _ in await bookings_rows.load(b.store)]
    assert stored == ["future-1"]
    assert {c.booking for c in await bookings_rows.history(b.store)} <= {"future-1"}
    after = await audit_rows.read(b.store)
    assert after[: len(before)] == before  # nothing of the chain removed or rewritten
    prune = [e for e in after if e.kind == "prune"]
    assert [e.detail["bookings"] for e in prune] == [["gone-1", "noshow-1"]]
    assert (await audit_rows.verify(b.store)).ok
    await b.tick()  # nothing left to prune: no second entry
    assert [e.kind for e in await audit_rows.read(b.store)].count("prune") == 1

    await owners.close()  # and it stays so after a restart
    again = await owners.open()
    assert [x.id for x in again.bookings()] == ["future-1"]
