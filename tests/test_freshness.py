"""A point polled slower than the control period stays fresh for its own period, never less
than the site's stale_after_s; an edge-reported contact stays fresh until it changes."""

from __future__ import annotations

import math

from edge.process_image import ProcessImage
from edge.readings import Quality, Reading


def quality_at(reading: Reading, now: float, site_stale_after_s: float = 3.0) -> Quality:
    image = ProcessImage(site_stale_after_s)
    image.put("m", "p", reading)
    found = image.freeze(now, 0.0).reading("m", "p")
    assert found is not None
    return found.quality


def test_site_stale_after_applies_by_default() -> None:
    assert quality_at(Reading(1.0, "W", Quality.OK, 0.0), 2.9) is Quality.OK
    assert quality_at(Reading(1.0, "W", Quality.OK, 0.0), 3.1) is Quality.STALE


def test_a_slow_point_is_fresh_for_its_own_allowance() -> None:
    slow = Reading(1.0, "Wh", Quality.OK, 0.0, stale_after_s=25.0)  # 10 s period x 2.5
    assert quality_at(slow, 20.0) is Quality.OK
    assert quality_at(slow, 26.0) is Quality.STALE


def test_a_short_allowance_never_undercuts_the_site_setting() -> None:
    fast = Reading(1.0, "W", Quality.OK, 0.0, stale_after_s=0.5)
    assert quality_at(fast, 2.0) is Quality.OK


def test_an_edge_reported_contact_holds_until_it_changes() -> None:
    contact = Reading(1.0, "", Quality.OK, 0.0, stale_after_s=math.inf)
    assert quality_at(contact, 86_400.0) is Quality.OK
