"""Simulated device behaviour: what a device's points read at a given moment.

A model is chosen per device by `sim.model` in the site file; parameters come from the same
table. Models are plain objects over wall time, so they run the same at any speed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edge.sim.physics import (
    EnergyCounter,
    grid_voltage,
    site_load_w,
    solar_w,
    three_phase,
    wind_w,
)


class MeterModel:
    """A three-phase meter whose total power follows `power_fn(wall)`."""

    def __init__(self, power_fn: Callable[[float], float]) -> None:
        self._power_fn = power_fn
        self._energy = EnergyCounter()

    def values(self, wall: float) -> dict[str, float]:
        power = self._power_fn(wall)
        self._energy.advance(wall, power)
        values = three_phase(power, grid_voltage(wall))
        values["energy_import_wh"] = self._energy.import_wh
        values["energy_export_wh"] = self._energy.export_wh
        return values


def _num(params: Mapping[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    return float(value) if isinstance(value, int | float) else default


def power_function(params: Mapping[str, Any]) -> Callable[[float], float]:
    """Power over wall time for `grid` (site load minus local generation), `load`, `pv` or
    `wind`; generation devices see their own output as positive."""
    kind = params.get("model", "load")
    base, peak = _num(params, "base_kw", 60.0), _num(params, "peak_kw", 150.0)
    pv, wind = _num(params, "pv_kw", 0.0), _num(params, "wind_kw", 0.0)
    if kind == "grid":
        return lambda t: site_load_w(t, base, peak) - solar_w(t, pv) - wind_w(t, wind)
    if kind == "pv":
        return lambda t: solar_w(t, _num(params, "peak_kw", 100.0))
    if kind == "wind":
        return lambda t: wind_w(t, _num(params, "rated_kw", 800.0))
    if kind == "load":
        return lambda t: site_load_w(t, base, peak)
    raise ValueError(f"sim.model {kind!r} is not one of grid, load, pv, wind")


def rated_w(params: Mapping[str, Any]) -> float:
    """Nameplate power of a simulated generator (what curtailment percentages refer to)."""
    key = "rated_kw" if params.get("model") == "wind" else "peak_kw"
    return 1000.0 * _num(params, key, 100.0)


class GeneratorModel(MeterModel):
    """An inverter feeding a generator's power in (generation view: output positive), with
    the values inverter maps add to a meter's: DC side, total energy and a run status."""

    def values(self, wall: float) -> dict[str, float]:
        values = super().values(wall)
        power = values["power_w"]
        values["dc_power_w"] = power / 0.97 if power > 0 else 0.0
        values["dc_voltage_v"] = 650.0 if power > 0 else 0.0
        values["energy_total_wh"] = values["energy_import_wh"]
        values["status"] = 3.0 if power > 0 else 0.0  # generating / waiting
        return values


def build_model(params: Mapping[str, Any], kind: str = "meter") -> MeterModel | CabinetModel:
    """The behaviour for a simulated device: `sim.model` from the site file, and the
    profile's kind (an inverter gets the inverter values a meter does not have)."""
    if kind == "inverter":
        return GeneratorModel(power_function(params))
    if params.get("model") == "cabinet":
        rated = 1000.0 * _num(params, "rated_kw", 400.0)
        demand = 1000.0 * _num(params, "demand_kw", 350.0)
        return CabinetModel(rated, lambda t: demand)
    return MeterModel(power_function(params))


class CabinetModel:
    """A DC power cabinet behind the reference map: each connector delivers what its truck
    draws, up to its setpoint (together no more than the rating); without a setpoint write
    for `watchdog_s` it drops to its fallback power by itself and reports status 5."""

    def __init__(
        self,
        rated_w: float,
        demand_fn: Callable[[float], float],
        demand_2_fn: Callable[[float], float] = lambda wall: 0.0,
    ) -> None:
        self.rated_w = rated_w
        self._demand_fn = demand_fn
        self._demand_2_fn = demand_2_fn  # connector 2's truck (none by default)
        self.setpoint_w = 0.0
        self.setpoint_2_w = 0.0
        self.fallback_w = 0.0
        self.watchdog_s = 0.0
        self._last_setpoint_at: float | None = None

    def in_fallback(self, wall: float) -> bool:
        last = self._last_setpoint_at
        return bool(self.watchdog_s) and (last is None or wall - last > self.watchdog_s)

    def values(self, wall: float) -> dict[str, float]:
        fallback = self.in_fallback(wall)
        limit = self.fallback_w if fallback else self.setpoint_w
        power = max(0.0, min(limit, self._demand_fn(wall)))
        limit_2 = 0.0 if fallback else self.setpoint_2_w  # the fallback is the cabinet's total
        power_2 = max(0.0, min(limit_2, self._demand_2_fn(wall), self.rated_w - power))
        return {
            "status": self._status(fallback, power),
            "power_w": power,
            "max_power_w": self.rated_w,
            "power_setpoint_w": self.setpoint_w,
            "fallback_power_w": self.fallback_w,
            "watchdog_s": self.watchdog_s,
            "connector_2_status": self._status(fallback, power_2),
            "connector_2_power_w": power_2,
            "connector_2_power_setpoint_w": self.setpoint_2_w,
        }

    @staticmethod
    def _status(fallback: bool, power: float) -> float:
        return 5.0 if fallback else (2.0 if power > 0 else 1.0)

    def on_write(self, point: str, value: float, wall: float) -> None:
        if point == "power_setpoint_w":
            self.setpoint_w = min(value, self.rated_w)  # a cabinet cannot exceed its rating
            self._last_setpoint_at = wall
        elif point == "connector_2_power_setpoint_w":
            self.setpoint_2_w = min(value, self.rated_w)
            self._last_setpoint_at = wall
        elif point == "fallback_power_w":
            self.fallback_w = min(value, self.rated_w)
        elif point == "watchdog_s":
            self.watchdog_s = value
