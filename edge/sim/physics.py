"""Plausible site physics for the simulators. Pure functions of time and parameters."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

DAY_S = 86_400.0


def _hour_of_day(wall: float, utc_offset_h: float) -> float:
    return ((wall / 3600.0) + utc_offset_h) % 24.0


def site_load_w(wall: float, base_kw: float, peak_kw: float, utc_offset_h: float = 1.0) -> float:
    """Buildings, lighting, cooling: a base with a daytime hump and a little noise."""
    hour = _hour_of_day(wall, utc_offset_h)
    hump = max(0.0, math.sin(math.pi * (hour - 6.0) / 14.0)) if 6.0 <= hour <= 20.0 else 0.0
    noise = 0.03 * math.sin(wall / 7.0) + 0.02 * math.sin(wall / 2.3)
    return 1000.0 * (base_kw + (peak_kw - base_kw) * hump) * (1.0 + noise)


def solar_w(wall: float, peak_kw: float, utc_offset_h: float = 1.0, seed: int = 7) -> float:
    """A clear-sky bell from sunrise to sunset, dimmed by passing clouds."""
    hour = _hour_of_day(wall, utc_offset_h)
    if not 6.5 <= hour <= 19.5:
        return 0.0
    clear: float = max(0.0, math.sin(math.pi * (hour - 6.5) / 13.0)) ** 1.5  # never complex
    rng = random.Random(int(wall // 60) * 31 + seed)  # noqa: S311 (weather, not secrets)
    cloud = 1.0 - 0.6 * rng.random() ** 3
    return 1000.0 * peak_kw * clear * cloud


def wind_w(wall: float, rated_kw: float, seed: int = 11) -> float:
    """Wind speed as slow gusts around a mean, through a simple turbine power curve."""
    speed = 7.0 + 3.0 * math.sin(wall / 1800.0 + seed) + 1.5 * math.sin(wall / 97.0 + 2 * seed)
    cut_in, rated_speed, cut_out = 3.0, 12.0, 25.0
    if speed < cut_in or speed > cut_out:
        return 0.0
    share = min(1.0, ((speed - cut_in) / (rated_speed - cut_in)) ** 3)
    return 1000.0 * rated_kw * share


@dataclass(slots=True)
class EnergyCounter:
    """Integrates power into import/export energy, as a meter's registers do."""

    import_wh: float = 0.0
    export_wh: float = 0.0
    _last_wall: float | None = field(default=None)

    def advance(self, wall: float, power_w: float) -> None:
        if self._last_wall is not None and wall > self._last_wall:
            wh = power_w * (wall - self._last_wall) / 3600.0
            if wh >= 0:
                self.import_wh += wh
            else:
                self.export_wh -= wh
        self._last_wall = wall


def grid_voltage(wall: float, nominal_v: float = 230.0) -> float:
    """A live grid's voltage wanders a little; a meter whose voltage never moves is frozen."""
    return nominal_v + 1.5 * math.sin(wall / 37.0) + 0.3 * math.sin(wall / 3.1)


def three_phase(power_w: float, voltage_v: float = 230.0) -> dict[str, float]:
    """Per-phase values of a balanced load; the phase powers add up to the total."""
    per_phase = power_w / 3.0
    current = abs(per_phase) / voltage_v
    values = {"power_w": power_w, "frequency_hz": 50.0, "power_factor": 1.0}
    values |= {"apparent_power_va": abs(power_w), "reactive_power_var": 0.0}
    for n in (1, 2, 3):
        values[f"voltage_l{n}_v"] = voltage_v
        values[f"current_l{n}_a"] = current
        values[f"power_l{n}_w"] = per_phase
    return values
