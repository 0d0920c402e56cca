"""Digital pins through gpiozero. The one module that imports gpiozero.

gpiozero runs edge callbacks in its own thread on real boards (synchronously in the driving
thread with its MockFactory); both reach the event loop through `call_soon_threadsafe`.
Outputs are created switched off: a restart never brings back an old command.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from gpiozero import Device, DigitalInputDevice, DigitalOutputDevice, GPIOZeroError

Changed = Callable[[str, bool], None]  # (point name, active)


class GpioError(Exception):
    """A pin cannot be claimed or driven."""


class GpioPins:
    def __init__(self, pin_factory: Any = None) -> None:
        self._factory = pin_factory  # None: gpiozero's default (GPIOZERO_PIN_FACTORY or auto)
        self._inputs: dict[str, DigitalInputDevice] = {}
        self._outputs: dict[str, DigitalOutputDevice] = {}

    def add_output(self, name: str, pin: str, active_high: bool) -> None:
        try:
            self._outputs[name] = DigitalOutputDevice(
                pin, active_high=active_high, initial_value=False, pin_factory=self._factory
            )
        except (GPIOZeroError, ValueError, OSError) as exc:
            raise GpioError(f"output {name}: pin {pin} unavailable: {exc}") from exc

    def add_input(
        self,
        name: str,
        pin: str,
        *,
        pull_up: bool | None,
        active_high: bool,
        bounce_s: float | None,
        changed: Changed,
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            device = DigitalInputDevice(
                pin,
                pull_up=pull_up,
                active_state=active_high if pull_up is None else None,
                bounce_time=bounce_s,
                pin_factory=self._factory,
            )
        except (GPIOZeroError, ValueError, OSError) as exc:
            raise GpioError(f"input {name}: pin {pin} unavailable: {exc}") from exc

        def report(active: bool) -> None:
            with contextlib.suppress(RuntimeError):  # loop closed while a pin still bounces
                loop.call_soon_threadsafe(changed, name, active)

        device.when_activated = lambda: report(True)
        device.when_deactivated = lambda: report(False)
        self._inputs[name] = device

    def read(self, name: str) -> bool:
        device = self._inputs.get(name) or self._outputs.get(name)
        if device is None:
            raise GpioError(f"no pin claimed for {name}")
        return bool(device.value)

    def set(self, name: str, on: bool) -> None:
        output = self._outputs.get(name)
        if output is None:
            raise GpioError(f"{name} is not an output")
        try:
            output.on() if on else output.off()
        except GPIOZeroError as exc:
            raise GpioError(f"output {name}: {exc}") from exc

    def close(self) -> None:
        for device in [*self._outputs.values(), *self._inputs.values()]:
            with contextlib.suppress(Exception):
                device.close()  # gpiozero releases the pin (outputs fall back to input)
        self._inputs.clear()
        self._outputs.clear()


def default_factory_name() -> str:
    return type(Device.pin_factory).__name__ if Device.pin_factory is not None else "auto"
