"""The generic Modbus device driver: executes any profile's read plan on a shared link.

It holds no policy about what the values mean: it reads, decodes, checks plausibility, and
writes timestamped readings with a quality into the process image. A device that stops
answering is logged once on the way down and once on the way back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from edge.clock import Clock
from edge.drivers.codec import DecodeError, decode_words, plausible
from edge.drivers.modbus_client import ModbusFailure
from edge.drivers.modbus_link import PRIORITY_BACKGROUND, PRIORITY_CONTROL, ModbusLink
from edge.drivers.profile import Point, Profile
from edge.drivers.read_plan import ReadBlock, plan_reads
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading

log = logging.getLogger(__name__)


@dataclass(slots=True)
class DeviceHealth:
    state: str = "starting"  # starting | ok | comm_lost
    polls: int = 0
    failures: int = 0
    invalid_values: int = 0
    last_ok_at: float | None = None
    last_error: str = ""


class ModbusDevice:
    def __init__(
        self,
        device_id: str,
        unit: int,
        profile: Profile,
        link: ModbusLink,
        image: ProcessImage,
        clock: Clock,
        poll_s: float | None = None,
    ) -> None:
        self.id = device_id
        self.unit = unit
        self.profile = profile
        self.link = link
        self._image = image
        self._clock = clock
        self.blocks = plan_reads(profile, poll_s)
        self.health = DeviceHealth()
        self.first_poll_done = asyncio.Event()  # set after the first attempt, good or bad
        self._previous: dict[str, float] = {}

    async def run(self) -> None:
        """Poll every block at its period, forever; never raises for device trouble."""
        due = [self._clock.monotonic()] * len(self.blocks)
        fastest = min(b.period_s for b in self.blocks)
        while True:
            now = self._clock.monotonic()
            index = min(range(len(due)), key=due.__getitem__)
            if due[index] > now:
                await self._clock.sleep(due[index] - now)
                continue
            block = self.blocks[index]
            # Keep the cadence, but never burst to catch up after a slow read.
            due[index] = max(due[index] + block.period_s, now)
            priority = PRIORITY_CONTROL if block.period_s <= fastest else PRIORITY_BACKGROUND
            await self.poll_block(block, priority)
            if index == len(self.blocks) - 1 or all(d > now for d in due):
                self.first_poll_done.set()

    async def poll_block(self, block: ReadBlock, priority: int = PRIORITY_CONTROL) -> None:
        self.health.polls += 1
        try:
            words = await self.link.read(
                self.unit, block.table, block.address, block.count, priority
            )
        except ModbusFailure as exc:
            self._failed(str(exc))
            return
        at = self._clock.monotonic()
        for point in block.points:
            self._image.put(
                self.id, point.name, self._reading(point, block.slice_for(point, words), at)
            )
        self._recovered(at)

    def _reading(self, point: Point, words: list[int], at: float) -> Reading:
        try:
            value = decode_words(words, point)
        except DecodeError as exc:
            self.health.invalid_values += 1
            log.debug("decode_failed device=%s point=%s error=%s", self.id, point.name, exc)
            return Reading(None, point.unit, Quality.INVALID, at)
        why = plausible(value, point, self._previous.get(point.name))
        if why is not None:
            self.health.invalid_values += 1
            log.debug("implausible device=%s point=%s reason=%s", self.id, point.name, why)
            return Reading(value, point.unit, Quality.INVALID, at)
        if point.counter:
            self._previous[point.name] = value
        return Reading(value, point.unit, Quality.OK, at)

    def _failed(self, error: str) -> None:
        self.health.failures += 1
        self.health.last_error = error
        self._image.mark_device(self.id, Quality.COMM_LOST, self._clock.monotonic())
        if self.health.state != "comm_lost":
            self.health.state = "comm_lost"
            log.warning(
                "device_lost device=%s link=%s unit=%d error=%s",
                self.id,
                self.link.id,
                self.unit,
                error,
            )

    def _recovered(self, at: float) -> None:
        self.health.last_ok_at = at
        if self.health.state == "comm_lost":
            log.info("device_recovered device=%s link=%s unit=%d", self.id, self.link.id, self.unit)
        self.health.state = "ok"
