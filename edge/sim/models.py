"""Simulated device behaviour: what a device's points read at a given moment.

A model is chosen per device by `sim.model` in the site file; parameters come from the same
table. Models are plain objects over wall time, so they run the same at any speed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from edge.sim.physics import EnergyCounter, site_load_w, solar_w, three_phase, wind_w


class MeterModel:
    """A three-phase meter whose total power follows `power_fn(wall)`."""

    def __init__(self, power_fn: Callable[[float], float]) -> None:
        self._power_fn = power_fn
        self._energy = EnergyCounter()

    def values(self, wall: float) -> dict[str, float]:
        power = self._power_fn(wall)
        self._energy.advance(wall, power)
        values = three_phase(power)
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


def build_model(params: Mapping[str, Any]) -> MeterModel:
    return MeterModel(power_function(params))
