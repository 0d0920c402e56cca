"""The generic CAN device driver: DBC-decoded frames become readings; written points become
the profile's command message, sent cyclically with an alive counter while a command is set.

Nothing is sent until control sets a value (after a restart no old command is replayed); the
device's own command timeout then applies its fallback. A device whose frames stop for
`timeout_s` is comm_lost, logged once, and logged once more when frames come back.
"""

from __future__ import annotations

import asyncio
import logging
import math

from edge.clock import Clock
from edge.drivers.can_bus import CanBusError, Frame
from edge.drivers.can_link import CanLink
from edge.drivers.can_profile import CanPoint, CanProfile
from edge.drivers.dbc import DbcError
from edge.drivers.device_base import DeviceBase, WriteFailed
from edge.process_image import ProcessImage

log = logging.getLogger(__name__)


class CanDevice(DeviceBase):
    def __init__(
        self, device_id: str, profile: CanProfile, link: CanLink, image: ProcessImage, clock: Clock
    ) -> None:
        super().__init__(device_id, f"link={link.id}", image, clock)
        self.profile = profile
        self.link = link
        self._last_frame_at: float | None = None
        self._command: dict[str, float] = {}  # signal -> raw signal value, while active
        self._counter = 0
        self._received = asyncio.Event()
        self._latest: dict[str, float] = {}
        self.stall_after_s = max(15.0, 5 * profile.timeout_s)  # silence is judged every period
        for message in {p.message for p in profile.points if p.polled}:
            info = profile.dbc.messages[message]
            link.subscribe(info.frame_id, info.extended, self.on_frame)

    def on_frame(self, frame: Frame) -> None:
        info = self.profile.dbc.by_frame(frame.arbitration_id, frame.extended)
        if info is None:
            return
        at = self._clock.monotonic()
        try:
            signals = self.profile.dbc.decode(frame.arbitration_id, frame.data)
        except DbcError as exc:  # garbage on a known id: count it, keep the last good values
            self.health.invalid_values += 1
            log.debug("undecodable_frame device=%s error=%s", self.id, exc)
            return
        self.health.polls += 1
        self._last_frame_at = at
        for point in self.profile.points:
            if point.polled and point.message == info.name and point.signal in signals:
                value = signals[point.signal] * point.scale + point.offset
                self._latest[point.name] = value
                fresh = self.profile.timeout_s  # cyclic frames: fresh until the timeout
                self.put(point.name, self.judge(point.name, value, point.unit, point, at, fresh))
        self.recovered(at)
        self._received.set()

    async def run(self) -> None:
        """Watch for silence and send the active command every period, forever."""
        command = self.profile.command
        period = command.period_s if command else self.profile.timeout_s / 2
        started = self._clock.monotonic()
        while True:
            now = self._clock.monotonic()
            heard = self._last_frame_at if self._last_frame_at is not None else started
            if now - heard > self.profile.timeout_s:
                self.failed(f"no frame for {self.profile.timeout_s:g} s ({self.link.describe()})")
            if self._command:
                await self._send_command()
            await self._clock.sleep(period)

    async def _send_command(self) -> None:
        command = self.profile.command
        assert command is not None
        signals = dict(self._command)
        if command.counter:
            self._counter = (self._counter + 1) % 16
            signals[command.counter] = self._counter
        if command.enable:
            signals[command.enable] = 1
        info = self.profile.dbc.messages[command.message]
        try:
            data = self.profile.dbc.encode(
                command.message, self._complete(command.message, signals)
            )
            await self.link.send(info.frame_id, info.extended, data)
        except (CanBusError, DbcError) as exc:
            self.health.write_failures += 1
            log.debug("command_not_sent device=%s error=%s", self.id, exc)

    def _complete(self, message: str, signals: dict[str, float]) -> dict[str, float]:
        """Every signal of the message needs a value to encode; unset ones send 0."""
        return {name: signals.get(name, 0.0) for name in self.profile.dbc.messages[message].signals}

    async def write_point(self, name: str, value: float, confirm_timeout_s: float = 2.0) -> None:
        """Set a command value (sent from now on every period) and wait until the device
        reports it applies it, if the profile names a confirming point."""
        where = f"device {self.id}: write {name}={value:g}"
        point = self._writable(where, name)
        self._command[point.signal] = (value - point.offset) / point.scale
        await self._send_command()
        self.health.writes += 1
        if point.confirm is None:
            return
        target = self.profile.point(point.confirm)
        tolerance = self.profile.dbc.messages[target.message].signals[target.signal].scale
        try:
            async with asyncio.timeout(confirm_timeout_s):
                while not self._confirmed(target, value, abs(tolerance * target.scale) / 2 + 1e-9):
                    self._received.clear()
                    await self._received.wait()
        except TimeoutError as exc:
            self.health.write_failures += 1
            raise WriteFailed(
                f"{where}: not confirmed by {target.name} within {confirm_timeout_s:g} s "
                f"({self.link.describe()})"
            ) from exc

    def _writable(self, where: str, name: str) -> CanPoint:
        return self.writable_point(self.profile.point, self.profile.id, name, where)

    def _confirmed(self, target: CanPoint, value: float, tolerance: float) -> bool:
        got = self._latest.get(target.name)
        return got is not None and math.isclose(got, value, abs_tol=tolerance)

    def release(self) -> None:
        """Stop commanding: the device's own timeout applies its fallback."""
        self._command.clear()
