"""The drivers' fast paths build exactly what the plain ones build."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.clock import SimClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.device_base import DeviceBase
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading, new_reading

times = st.floats(allow_nan=False)
optional_times = st.none() | st.floats()


@given(
    value=st.none() | st.floats(),
    unit=st.text(max_size=4),
    quality=st.sampled_from(Quality),
    at=times,
    stale_after_s=optional_times,
    failed_at=optional_times,
)
def test_new_reading_is_the_reading_the_constructor_builds(
    value: float | None,
    unit: str,
    quality: Quality,
    at: float,
    stale_after_s: float | None,
    failed_at: float | None,
) -> None:
    slow = Reading(value, unit, quality, at, stale_after_s, failed_at)
    fast = new_reading(value, unit, quality, at, stale_after_s, failed_at)
    assert type(fast) is Reading
    assert repr(fast) == repr(slow)
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
    assert fast == slow  # a NaN value too: the fields compare as the same float object
    assert hash(fast) == hash(slow)
    assert new_reading(value, unit, quality, at) == Reading(value, unit, quality, at)


def test_new_reading_stays_frozen() -> None:
    reading = new_reading(1.0, "W", Quality.OK, 2.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        reading.value = 3.0  # type: ignore[misc]
    assert dataclasses.replace(reading, failed_at=4.0).failed_at == 4.0


def _meter() -> tuple[DeviceBase, ProcessImage]:
    image = ProcessImage(3.0)
    return DeviceBase("m", "test", image, SimClock()), image


values = st.sampled_from([0.0, 1.0, 230.0, -5.0, 1e12, -1e12, float("nan"), float("inf")])


@given(rounds=st.lists(st.lists(values, min_size=13, max_size=13), min_size=1, max_size=4))
def test_put_judged_puts_what_judge_gives_point_by_point(rounds: list[list[float]]) -> None:
    """Same readings, same invalid count and the same counter memory (a counter that went
    backwards is judged against the last valid value in both)."""
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    points = [p for p in profile.points if p.polled][:13]
    points[1] = dataclasses.replace(points[1], min=None, max=None)  # a point with no range
    assert any(p.counter for p in points)
    assert any(p.min is not None for p in points)
    fast, fast_image = _meter()
    slow, slow_image = _meter()
    for n, words in enumerate(rounds):
        at = float(n)
        fast.put_judged(list(zip(points, words, strict=True)), at, 2.5)
        for point, value in zip(points, words, strict=True):
            slow.put(point.name, slow.judge(point.name, value, point.unit, point, at, 2.5))
        got = fast_image.freeze(at, 0.0).points["m"]
        want = slow_image.freeze(at, 0.0).points["m"]
        assert [dataclasses.astuple(got[p.name]) for p in points] == [
            dataclasses.astuple(want[p.name]) for p in points
        ]
    assert fast.health.invalid_values == slow.health.invalid_values
