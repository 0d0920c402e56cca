"""A device made of GPIO pins (gate barrier relay, loop detectors): inputs become readings on
every edge (and at start), outputs are driven off at start and confirmed after each write."""

from __future__ import annotations

import asyncio
import logging
import math
from typing import Any

from edge.clock import Clock
from edge.drivers.device_base import DeviceBase, WriteFailed
from edge.drivers.gpio_backend import GpioError, GpioPins
from edge.drivers.gpio_profile import GpioProfile
from edge.process_image import ProcessImage

log = logging.getLogger(__name__)


class GpioLink:
    """The board's pins as a link; several GPIO devices may share a board."""

    framing = None
    connected = True

    def __init__(self, link_id: str, pin_factory: Any = None) -> None:
        self.id = link_id
        self.pins = GpioPins(pin_factory)

    def describe(self) -> str:
        return "gpio"

    async def run(self) -> None:
        await asyncio.Event().wait()  # nothing to poll: pins report edges themselves

    def utilisation(self) -> float:
        return 0.0

    def counters(self) -> dict[str, int]:
        return {}


class GpioDevice(DeviceBase):
    def __init__(
        self,
        device_id: str,
        profile: GpioProfile,
        link: GpioLink,
        image: ProcessImage,
        clock: Clock,
    ) -> None:
        super().__init__(device_id, f"link={link.id}", image, clock)
        self.profile = profile
        self.link = link

    async def run(self) -> None:
        """Claim the pins (outputs off), publish every pin's state, then follow the edges;
        the pins are released when the task ends."""
        pins = self.link.pins
        try:
            for p in self.profile.points:
                if p.writable:
                    pins.add_output(p.name, p.pin, p.active_high)
                else:
                    pins.add_input(
                        p.name,
                        p.pin,
                        pull_up=p.pull_up,
                        active_high=p.active_high,
                        bounce_s=p.bounce_s,
                        changed=self._changed,
                    )
        except GpioError as exc:
            self.failed(str(exc))
            pins.close()
            return
        try:
            for p in self.profile.points:
                self._changed(p.name, pins.read(p.name))
            outputs = ",".join(p.name for p in self.profile.points if p.writable)
            log.info("gpio_ready device=%s outputs_off=%s", self.id, outputs)
            await asyncio.Event().wait()  # edges arrive through the callbacks
        finally:
            pins.close()  # released pins stop driving: the relay drops

    def _changed(self, name: str, active: bool) -> None:
        at = self._clock.monotonic()
        point = self.profile.point(name)
        self.health.polls += 1
        # Reported on every edge: a contact's state holds until the next edge.
        value = 1.0 if active else 0.0
        self.put(name, self.judge(name, value, point.unit, point, at, math.inf))
        self.recovered(at)

    async def write_point(self, name: str, value: float) -> None:
        where = f"device {self.id}: write {name}={value:g}"
        self.writable_point(self.profile.point, self.profile.id, name, where, "an input")
        try:
            self.link.pins.set(name, bool(value))
            actual = self.link.pins.read(name)
        except GpioError as exc:
            self.health.write_failures += 1
            raise WriteFailed(f"{where}: {exc} ({self.where})") from exc
        self.health.writes += 1
        self._changed(name, actual)
        if actual != bool(value):
            self.health.write_failures += 1
            raise WriteFailed(f"{where}: not confirmed, the pin reads {int(actual)} ({self.where})")

    def close(self) -> None:
        self.link.pins.close()
