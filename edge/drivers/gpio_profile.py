"""GPIO profiles: which pin is which point. Pins belong to a site's wiring, so a GPIO profile
is usually a site-local file (EDGE_PROFILE_PATH); one example ships for a Pi-based gate."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.drivers.profile_common import (
    HEADER_KEYS,
    FieldReader,
    ProfileError,
    find_point,
    header,
    no_unknown,
    read_profile_file,
)


@dataclass(frozen=True, slots=True)
class GpioPoint:
    name: str
    pin: str  # as gpiozero names it: "GPIO17", "BOARD11", or a number
    direction: str  # in | out
    active_high: bool
    pull_up: bool | None  # inputs: internal pull-up (True), pull-down (False) or none (None)
    bounce_s: float | None
    ref: str
    unit: str = ""
    min: float | None = None
    max: float | None = None
    counter: bool = False
    labels: Mapping[int, str] = field(default_factory=dict)

    @property
    def writable(self) -> bool:
        return self.direction == "out"

    @property
    def polled(self) -> bool:
        return True  # outputs are reported too (their actual pin state)


@dataclass(frozen=True, slots=True)
class GpioProfile:
    id: str
    kind: str
    vendor: str
    models: tuple[str, ...]
    datasheet: str
    points: tuple[GpioPoint, ...]
    source: Path
    protocol: str = "gpio"

    def point(self, name: str) -> GpioPoint:
        return find_point(self.id, self.points, name)


_POINT_KEYS = {"pin", "direction", "active_high", "pull_up", "bounce_s", "ref"}


def load_gpio_profile(path: Path, data: Mapping[str, Any] | None = None) -> GpioProfile:
    where = path.name
    data = read_profile_file(path) if data is None else data
    head = header(path, data)
    no_unknown(where, "", data, HEADER_KEYS)
    points = []
    for name, spec in data["points"].items():
        no_unknown(where, f"points.{name}.", spec, _POINT_KEYS)
        f = FieldReader(where, f"points.{name}", spec)
        pin = f.required("pin", (str, int))
        direction = f.choice("direction", ("in", "out"), "in")
        pull_up = f.get("pull_up", bool)
        if direction == "out" and (pull_up is not None or "bounce_s" in spec):
            raise f.fail("direction", "pull_up and bounce_s apply to inputs only")
        bounce = f.number("bounce_s")
        active_high = bool(f.get("active_high", bool, not pull_up if pull_up is not None else True))
        if pull_up is not None and active_high == pull_up:
            # With a pull-up the idle level is high, so the contact is active low (and back).
            raise f.fail("active_high", f"must be {not pull_up} with pull_up = {pull_up}")
        points.append(
            GpioPoint(
                name=name,
                pin=str(pin),
                direction=direction,
                active_high=active_high,
                pull_up=pull_up,
                bounce_s=bounce,
                ref=str(f.get("ref", str, f"pin {pin}")),
            )
        )
    pins = [p.pin for p in points]
    duplicate = next((p for p in pins if pins.count(p) > 1), None)
    if duplicate is not None:
        raise ProfileError(f"{where}: points: pin {duplicate} is used twice")
    return GpioProfile(
        head.id, head.kind, head.vendor, head.models, head.datasheet, tuple(points), path
    )
