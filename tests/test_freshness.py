"""A point polled slower than the control period stays fresh for its own period, never less
than the site's stale_after_s; an edge-reported contact stays fresh until it changes."""

from __future__ import annotations

import math

from edge.process_image import ProcessImage
from edge.readings import Grade, Quality, Reading


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


def test_stale_then_lost_counted_from_the_last_good_value() -> None:
    image = ProcessImage(stale_after_s=3.0, lost_after_s=10.0)
    image.put("m", "p", Reading(1.0, "W", Quality.OK, 0.0))
    for failure_at in (1.0, 2.0, 4.0, 9.0):  # polls keep failing; the value's time stays
        image.mark_device("m", failure_at)
    grades = [image.freeze(now, 0.0).grade("m", "p") for now in (2.9, 3.1, 9.9, 10.1)]
    assert grades == [Grade.FRESH, Grade.STALE, Grade.STALE, Grade.LOST]


def test_a_good_read_after_failures_is_fresh_again() -> None:
    image = ProcessImage(stale_after_s=3.0, lost_after_s=10.0)
    image.put("m", "p", Reading(1.0, "W", Quality.OK, 0.0))
    image.mark_device("m", 20.0)
    image.put("m", "p", Reading(2.0, "W", Quality.OK, 21.0))
    r = image.freeze(21.5, 0.0).reading("m", "p")
    assert r is not None
    assert (r.value, r.quality, r.failed_at) == (2.0, Quality.OK, None)


def test_a_contact_of_a_failed_device_is_not_held_forever() -> None:
    image = ProcessImage(stale_after_s=3.0, lost_after_s=10.0)
    image.put("io", "loop", Reading(1.0, "", Quality.OK, 0.0, stale_after_s=math.inf))
    assert image.freeze(86_400.0, 0.0).grade("io", "loop") is Grade.FRESH
    image.mark_device("io", 86_400.0)
    assert image.freeze(86_400.0, 0.0).grade("io", "loop") is Grade.LOST


def test_an_invalid_value_is_lost_at_once_and_holds_no_good_time() -> None:
    r = Reading(float("nan"), "W", Quality.INVALID, 5.0)
    assert (r.grade, r.good_at) == (Grade.LOST, None)
