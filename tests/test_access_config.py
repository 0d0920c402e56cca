"""The `[access]` keys of the bookings owner: the assignment's lead time and how long
finished bookings are kept; refused at load with file, line and key when out of range."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from edge.clock import SimClock
from edge.siteconf import ConfigError, load_site
from edge.siteconf.model import Access
from tests.conftest import DEMO
from tests.test_bookings_owner import HOUR, Owners, booked

DEMO_TEXT = DEMO.read_text()


@pytest.fixture
async def owners(tmp_path: Path) -> AsyncIterator[Owners]:
    o = Owners(tmp_path, SimClock())
    await o.open()
    yield o
    await o.close()


def test_defaults_and_values_load(write_site) -> None:
    assert load_site(DEMO).access.assign_lead_min == 30.0
    assert load_site(DEMO).access.keep_bookings_days == 30.0
    text = DEMO_TEXT + "\n[access]\nassign_lead_min = 45\nkeep_bookings_days = 7\n"
    access = load_site(write_site(text)).access
    assert (access.assign_lead_min, access.keep_bookings_days) == (45.0, 7.0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("assign_lead_min = 0", "access.assign_lead_min: must be >= 1, got 0"),
        ("assign_lead_min = 2000", "access.assign_lead_min: must be <= 1440, got 2000"),
        ('assign_lead_min = "30"', "access.assign_lead_min: must be a number"),
        ("keep_bookings_days = 0.5", "access.keep_bookings_days: must be >= 1, got 0.5"),
        ("assign_lead_s = 1800", "access.assign_lead_s: unknown key"),
        ("ad_hoc_reserve_min = 0", "access.ad_hoc_reserve_min: must be >= 1, got 0"),
        ("ad_hoc_reserve_min = 121", "access.ad_hoc_reserve_min: must be <= 120, got 121"),
        ('ad_hoc_reserve_min = "10"', "access.ad_hoc_reserve_min: must be a number"),
        ("ad_hoc_reserve_min = true", "access.ad_hoc_reserve_min: must be a number"),
        ('ad_hoc_connectors = ["CHAdeMO"]', "access.ad_hoc_connectors[0]: 'CHAdeMO' is not one"),
        ("ad_hoc_connectors = []", "access.ad_hoc_connectors: "),
        ('ad_hoc_connectors = ["CCS", "CCS"]', "access.ad_hoc_connectors: "),
        ('ad_hoc_connectors = "CCS"', "access.ad_hoc_connectors: must be a list"),
    ],
)
def test_a_bad_value_names_file_line_and_key(write_site, line: str, expected: str) -> None:
    text = DEMO_TEXT + f"\n[access]\n{line}\n"
    path: Path = write_site(text)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    found = [i for i in info.value.issues if expected in str(i)]
    assert found, "\n".join(str(i) for i in info.value.issues)
    assert found[0].line == text.splitlines().index(line) + 1
    assert re.match(rf"^{re.escape(str(path))}:\d+: ", str(found[0]))


async def test_the_owner_assigns_at_the_configured_lead(owners: Owners) -> None:
    b = owners.bookings
    await b.upsert(booked(owners), by="cloud")  # starts in one hour
    owners.clock.advance(HOUR - 45 * 60)  # 45 min before the slot
    await b.tick()
    assert b.bay_of("bk-1") is None  # the default lead is 30 min
    b.config = replace(b.config, access=Access(assign_lead_min=50.0))
    await b.tick()
    assert b.bay_of("bk-1") == "B01"


def test_gate_status_lists_the_entry_decisions() -> None:
    from edge.cli.gate_commands import status_page

    lane = {"lane": "entry-main", "direction": "entry", "state": "idle", "fault": None,
            "output": 0.0, "sensors": {"loop_a": False}, "held_by": None}  # fmt: skip
    recent = [
        {"gate": "entry-main", "reason": "Accepted", "booking": "demo-001", "detail": "booked"},
        {"gate": "entry-main", "reason": "Referred", "booking": "", "detail": "vehicle truck"},
    ]
    page = status_page({"lanes": [lane], "decisions": {"Accepted": 1, "Referred": 1},
                        "recent": recent})  # fmt: skip
    assert "Entry decisions: Accepted 1, Referred 1; the last 2:" in page
    assert "  entry-main Referred (ad hoc): vehicle truck" in page
