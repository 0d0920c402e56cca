"""What every polled device shares, whatever its protocol: health, quality, and the rule
"one warning when a device drops, one info when it is back"."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from math import isfinite
from typing import Protocol, TypeVar

from edge.clock import Clock
from edge.drivers.codec import HasRange, plausible
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading, new_reading

log = logging.getLogger("edge.drivers.device")


class WriteFailed(Exception):
    """A write was refused, not answered, or not confirmed by its read-back."""


class _Writable(Protocol):
    @property
    def writable(self) -> bool: ...


PointT = TypeVar("PointT", bound=_Writable)


class JudgedPoint(HasRange, Protocol):
    """What judging a value needs of its point, whatever the protocol."""

    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...


@dataclass(slots=True)
class DeviceHealth:
    state: str = "starting"  # starting | ok | comm_lost
    polls: int = 0
    failures: int = 0
    invalid_values: int = 0
    writes: int = 0
    write_failures: int = 0
    last_ok_at: float | None = None
    last_outcome_at: float | None = None  # the latest poll that ended, well or not
    last_error: str = ""


class DeviceBase:
    def __init__(self, device_id: str, where: str, image: ProcessImage, clock: Clock) -> None:
        self.id = device_id
        self.where = where  # "link=rs485-1 unit=5", for log lines
        self._image = image
        self._clock = clock
        self.health = DeviceHealth()
        # Set by the first outcome, good or bad, so the first control cycle can wait for it.
        self.first_poll_done = asyncio.Event()
        self._previous: dict[str, float] = {}  # last valid counter values
        self._started_at = clock.monotonic()
        # A polled device whose polls stop ending (a hung request) shows it after this long;
        # None: the device reports only on change (GPIO edges) and never stalls.
        self.stall_after_s: float | None = None

    def poll_age(self, now: float) -> float:
        """Seconds since the latest poll ended (since start when none has)."""
        last = self.health.last_outcome_at
        return max(0.0, now - (self._started_at if last is None else last))

    def polls_stalled(self, now: float) -> bool:
        return self.stall_after_s is not None and self.poll_age(now) > self.stall_after_s

    def writable_point(
        self,
        lookup: Callable[[str], PointT],
        profile_id: str,
        name: str,
        where: str,
        refused: str = "read-only",
    ) -> PointT:
        """The profile's point to write, or WriteFailed saying why it cannot be written."""
        try:
            point = lookup(name)
        except KeyError as exc:
            raise WriteFailed(f"{where}: no such point ({profile_id})") from exc
        if not point.writable:
            raise WriteFailed(f"{where}: point is {refused} ({profile_id})")
        return point

    def put(self, point: str, reading: Reading) -> None:
        self._image.put(self.id, point, reading)

    def judge(
        self,
        name: str,
        value: float | None,
        unit: str,
        spec: HasRange,
        at: float,
        fresh_for_s: float | None = None,
    ) -> Reading:
        """A reading with its quality: invalid when missing, NaN, out of range or a counter
        that went backwards; never usable for control then. `fresh_for_s`: how long it stays
        fresh (points polled slower than the control period)."""
        why = (
            "not implemented by the device"
            if value is None
            else plausible(value, spec, self._previous.get(name))
        )
        if why is not None:
            return self._invalid(name, why, value, unit, at, fresh_for_s)
        if spec.counter and value is not None:
            self._previous[name] = value
        return new_reading(value, unit, Quality.OK, at, fresh_for_s)

    def put_judged(
        self,
        values: Iterable[tuple[JudgedPoint, float]],
        at: float,
        fresh_for_s: float | None = None,
    ) -> None:
        """judge() every value of one read and put them into the image in one step (the
        drivers' hot path, so judge's few lines are written out here once more)."""
        previous = self._previous
        readings: dict[str, Reading] = {}
        for point, value in values:
            name = point.name
            low, high = point.min, point.max
            if (
                isfinite(value)
                and (low is None or value >= low)
                and (high is None or value <= high)
                and not point.counter
            ):  # plainly plausible, as plausible() would say, without the call
                readings[name] = new_reading(value, point.unit, Quality.OK, at, fresh_for_s)
                continue
            why = plausible(value, point, previous.get(name))
            if why is not None:
                readings[name] = self._invalid(name, why, value, point.unit, at, fresh_for_s)
                continue
            if point.counter:
                previous[name] = value
            readings[name] = new_reading(value, point.unit, Quality.OK, at, fresh_for_s)
        self._image.put_all(self.id, readings)

    def _invalid(
        self,
        name: str,
        why: str,
        value: float | None,
        unit: str,
        at: float,
        fresh_for_s: float | None = None,
    ) -> Reading:
        self.health.invalid_values += 1
        log.debug("implausible device=%s point=%s reason=%s", self.id, name, why)
        return new_reading(value, unit, Quality.INVALID, at, fresh_for_s)

    def degraded(self, state: str, error: str, names: list[str], at: float) -> None:
        """The device answers but some values cannot be used: a read it refuses (exception
        reply) or values that stopped changing (a frozen meter). Those points are invalid."""
        self.health.last_error = error
        self.health.last_outcome_at = at
        for name in names:
            self.put(name, Reading(None, "", Quality.INVALID, at))
        if self.health.state != state:
            self.health.state = state
            log.warning("device_%s device=%s %s error=%s", state, self.id, self.where, error)

    def failed(self, error: str) -> None:
        self.first_poll_done.set()
        self.health.failures += 1
        self.health.last_error = error
        now = self._clock.monotonic()
        self.health.last_outcome_at = now
        self._image.mark_device(self.id, now)
        if self.health.state != "comm_lost":
            self.health.state = "comm_lost"
            log.warning("device_lost device=%s %s error=%s", self.id, self.where, error)

    def recovered(self, at: float) -> bool:
        """Mark the device answering; True when it comes back after being lost."""
        health = self.health
        health.last_ok_at = at
        health.last_outcome_at = at
        was = health.state
        if was == "ok":  # the usual case; first_poll_done was set when it became ok
            return False
        self.first_poll_done.set()
        if was not in ("ok", "starting"):
            log.info("device_recovered device=%s %s was=%s", self.id, self.where, was)
        self.health.state = "ok"
        return was == "comm_lost"
