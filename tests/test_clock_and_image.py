"""SimClock steps time without sleeping; the process image turns age into `stale`."""

from __future__ import annotations

import asyncio

from edge.clock import SimClock
from edge.process_image import ProcessImage
from edge.readings import Grade, Quality, Reading


async def test_sim_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = SimClock()
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, delay: float) -> None:
        await clock.sleep(delay)
        woke.append((name, clock.monotonic()))

    tasks = [asyncio.create_task(sleeper("b", 2.0)), asyncio.create_task(sleeper("a", 1.0))]
    await asyncio.sleep(0)
    assert clock.advance_to_next()
    await asyncio.sleep(0)
    assert woke == [("a", 1.0)]
    clock.advance(5.0)
    await asyncio.gather(*tasks)
    assert woke == [("a", 1.0), ("b", 6.0)]
    assert clock.wall() - clock.monotonic() == 1_767_225_600.0
    assert not clock.advance_to_next()


def test_freeze_marks_old_readings_stale_and_is_immutable() -> None:
    image = ProcessImage(stale_after_s=3.0)
    image.put("m", "power_w", Reading(1000.0, "W", Quality.OK, at=10.0))
    image.put("m", "energy_import_wh", Reading(5.0, "Wh", Quality.OK, at=12.5))
    snap = image.freeze(now=13.5, wall=0.0)
    assert snap.reading("m", "power_w").quality is Quality.STALE  # type: ignore[union-attr]
    assert snap.value("m", "power_w") is None
    assert snap.value("m", "energy_import_wh") == 5.0
    image.put("m", "energy_import_wh", Reading(6.0, "Wh", Quality.OK, at=13.6))
    assert snap.value("m", "energy_import_wh") == 5.0  # the snapshot did not change


def test_mark_device_keeps_the_last_good_time_apart_from_the_failure() -> None:
    image = ProcessImage(stale_after_s=3.0, lost_after_s=10.0)
    image.put("m", "power_w", Reading(1000.0, "W", Quality.OK, at=1.0))
    image.mark_device("m", at=2.0)
    r = image.freeze(now=2.0, wall=0.0).reading("m", "power_w")
    assert r is not None
    assert (r.value, r.good_at, r.failed_at) == (1000.0, 1.0, 2.0)
    # One failed poll does not blind control: the value is fresh until its stale time.
    assert r.quality is Quality.OK
    assert r.grade is Grade.FRESH
    image.mark_device("m", at=5.0)
    later = image.freeze(now=5.0, wall=0.0)
    assert later.reading("m", "power_w").good_at == 1.0  # type: ignore[union-attr]
    assert later.value("m", "power_w") is None
    assert later.grade("m", "power_w") is Grade.STALE
    lost = image.freeze(now=11.5, wall=0.0)
    assert lost.reading("m", "power_w").quality is Quality.COMM_LOST  # type: ignore[union-attr]
    assert lost.grade("m", "power_w") is Grade.LOST
    assert lost.grade("m", "never_read") is Grade.LOST
