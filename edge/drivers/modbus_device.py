"""The generic Modbus device driver: executes any profile's read plan on a shared link.

It holds no policy about what the values mean: it reads, decodes, checks plausibility, and
writes timestamped readings with a quality into the process image. Writes are confirmed by
reading back the point's `confirm` register where the profile names one. The profile's
`startup` values (safe outputs, device watchdogs) are written when the driver starts and
again whenever the device comes back after being lost: its state is unknown then, and an
old command is never replayed.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping

from edge.clock import Clock
from edge.drivers.codec import DecodeError, decode_words, encode_value
from edge.drivers.device_base import DeviceBase, WriteFailed
from edge.drivers.line_capacity import Transaction
from edge.drivers.modbus_client import DeviceRejected, ModbusFailure
from edge.drivers.modbus_link import PRIORITY_BACKGROUND, PRIORITY_CONTROL, ModbusLink
from edge.drivers.modbus_profile import Point, Profile, Table
from edge.drivers.read_plan import ReadBlock, plan_reads
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading

log = logging.getLogger(__name__)

STALL_AFTER_S = 15.0  # at least: covers a unit's backoff and the link's reconnect delay
FRESH_PERIODS = 2.5  # a value stays fresh for this many of its poll periods (one miss allowed)


class ModbusDevice(DeviceBase):
    def __init__(
        self,
        device_id: str,
        unit: int,
        profile: Profile,
        link: ModbusLink,
        image: ProcessImage,
        clock: Clock,
        poll_s: float | None = None,
        startup: Mapping[str, float] | None = None,
    ) -> None:
        super().__init__(device_id, f"link={link.id} unit={unit}", image, clock)
        self.unit = unit
        self.profile = profile
        self.link = link
        self.blocks = plan_reads(profile, poll_s)
        # Site values (a cabinet's fallback power) override the profile's startup values.
        self.startup = {**dict(profile.startup), **dict(startup or {})}
        self._startup_due = bool(self.startup)
        self._writing_startup = False
        self._last_words: dict[tuple[Table, int], list[int]] = {}
        self._changed_at: float | None = None
        self._fastest_s = min(b.period_s for b in self.blocks)
        # A poll ends within the link's timeout; many missed periods mean it hangs.
        self.stall_after_s = max(STALL_AFTER_S, 5 * self._fastest_s)
        # The fastest blocks, once a phase lock reads them (`lock()`): `run` leaves them be.
        self._locked: tuple[ReadBlock, ...] = ()

    def plan(self) -> list[tuple[Transaction, float]]:
        """The reads this device puts on its link, with their periods (for line capacity)."""
        return [(Transaction(b.table, b.count), b.period_s) for b in self.blocks]

    def lock(self) -> None:
        """From now on a phase lock (`edge/drivers/phase_lock.py`) reads the fastest blocks,
        right before or after other devices' (`read_locked`); `run` polls only the others.
        Called before `run` starts."""
        self._locked = tuple(b for b in self.blocks if b.period_s <= self._fastest_s)

    @property
    def locked_period_s(self) -> float:
        return self._fastest_s

    async def read_locked(self) -> None:
        """One read of each of the fastest blocks (the phase lock's turn for this device)."""
        for block in self._locked:
            await self.poll_block(block, PRIORITY_CONTROL)

    async def run(self) -> None:
        """Poll every block at its period, forever, but those a phase lock reads; never
        raises for device trouble."""
        await self._apply_startup()
        own = [b for b in self.blocks if b not in self._locked]
        if not own:  # the lock reads them all; returning would read as a failed task
            await asyncio.Event().wait()
        due = [self._clock.monotonic()] * len(own)
        while True:
            now = self._clock.monotonic()
            index = min(range(len(due)), key=due.__getitem__)
            if due[index] > now:
                await self._clock.sleep(due[index] - now)
                continue
            block = own[index]
            # Keep the cadence, but never burst to catch up after a slow read.
            due[index] = max(due[index] + block.period_s, now)
            fast = block.period_s <= self._fastest_s
            await self.poll_block(block, PRIORITY_CONTROL if fast else PRIORITY_BACKGROUND)

    async def poll_block(self, block: ReadBlock, priority: int = PRIORITY_CONTROL) -> None:
        self.health.polls += 1
        try:
            words = await self.link.read(
                self.unit, block.table, block.address, block.count, priority
            )
        except DeviceRejected as exc:  # it answers, but will not give these values
            self.degraded("refused", str(exc), [p.name for p in block.points], self._now())
            return
        except ModbusFailure as exc:
            self.failed(str(exc))
            return
        at = self._clock.monotonic()
        if self._frozen(block, words, at):
            names = [p.name for b in self.blocks for p in b.points]
            self.degraded(
                "frozen", f"registers unchanged for {self.profile.frozen_after_s:g} s", names, at
            )
            return
        self._put_values(block, words, at)
        if self.recovered(at) and self.startup:
            self._startup_due = True
        if self._startup_due:
            await self._apply_startup()

    def _frozen(self, block: ReadBlock, words: list[int], at: float) -> bool:
        """True while none of the fast blocks' registers has changed for `frozen_after_s`.

        Device-wide and fast blocks only: a live meter's voltages always jitter, while a
        single block may legitimately hold still (export energy at a consuming site)."""
        limit = self.profile.frozen_after_s
        if limit is None:
            return False
        if block.period_s > self._fastest_s:
            return self.health.state == "frozen"  # only the fast blocks are judged
        key = (block.table, block.address)
        if self._changed_at is None or self._last_words.get(key) != words:
            self._last_words[key] = words
            self._changed_at = at
        return at - self._changed_at >= limit

    def _put_values(self, block: ReadBlock, words: list[int], at: float) -> None:
        """Decode the block once and put each point's reading, with its quality."""
        fresh_for_s = FRESH_PERIODS * block.period_s
        try:
            values = block.decoder.decode(words)
        except DecodeError as exc:
            self.health.invalid_values += len(block.points)
            log.debug("decode_failed device=%s block=%s error=%s", self.id, block.address, exc)
            for point in block.points:
                self.put(point.name, Reading(None, point.unit, Quality.INVALID, at))
            return
        self.put_judged(values, at, fresh_for_s)

    async def write_point(self, name: str, value: float) -> None:
        """Write one point and, where the profile allows, confirm it by reading it back.

        Raises WriteFailed naming the device, the value and why."""
        where = f"device {self.id}: write {name}={value:g}"
        point = self.writable_point(self.profile.point, self.profile.id, name, where)
        try:
            words = encode_value(value, point)
            await self.link.write(self.unit, point.table, point.address, words)
        except (DecodeError, ModbusFailure) as exc:
            self.health.write_failures += 1
            raise WriteFailed(f"{where}: {exc} ({self.where})") from exc
        self.health.writes += 1
        if point.confirm is not None:
            await self._confirm(where, self.profile.point(point.confirm), value)

    async def _confirm(self, where: str, target: Point, value: float) -> None:
        try:
            words = await self.link.read(
                self.unit, target.table, target.address, target.words, PRIORITY_CONTROL
            )
            got = decode_words(words, target)
        except (DecodeError, ModbusFailure) as exc:
            self.health.write_failures += 1
            raise WriteFailed(f"{where}: read-back failed: {exc} ({self.where})") from exc
        self.put(target.name, self.judge(target.name, got, target.unit, target, self._now()))
        # The register holds the value rounded to the point's resolution.
        if not math.isclose(got, value, rel_tol=1e-6, abs_tol=abs(target.scale) / 2):
            self.health.write_failures += 1
            raise WriteFailed(
                f"{where}: not confirmed, {target.name} reads back {got:g} ({self.where})"
            )

    async def _apply_startup(self) -> None:
        if self._writing_startup:  # the lock's reads and the device's own loop both ask
            return
        self._writing_startup = True
        try:
            await self._write_startup()
        finally:
            self._writing_startup = False

    async def _write_startup(self) -> None:
        for name, value in self.startup.items():
            try:
                await self.write_point(name, value)
            except WriteFailed as exc:
                log.debug("startup_write_deferred device=%s error=%s", self.id, exc)
                self._startup_due = True  # retried when the device answers again
                return
        if self.startup:
            log.info(
                "startup_values_written device=%s %s",
                self.id,
                " ".join(f"{k}={v:g}" for k, v in self.startup.items()),
            )
        self._startup_due = False

    def _now(self) -> float:
        return self._clock.monotonic()
