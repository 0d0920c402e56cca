"""What a day runner's run gives: per truck, the site's energy and limits, the uplink."""

from __future__ import annotations

from dataclasses import dataclass

from edge.sim.export_sim import ExportCheck
from edge.sim.series import Series
from edge.sim.traffic import TruckResult
from edge.sim.uplink_sim import UplinkResult


@dataclass(frozen=True, slots=True)
class DayResult:
    trucks: tuple[TruckResult, ...]
    limit_w: float  # the grid connection's import limit (the site file's)
    peak_import_w: float
    seconds_above_limit: float  # grid or any feeder above its limit
    max_excess_w: float  # the largest import above a limit, any node
    max_unexplained_w: float  # ... beyond ramp-downs and what the controller could not see
    grid_import_wh: float
    grid_export_wh: float
    base_wh: float
    charging_wh: float
    solar_wh: float
    wind_wh: float
    sim_s: float
    wall_s: float
    seconds_unexplained: float = 0.0  # seconds with an unexplained excess
    uplink: UplinkResult | None = None
    series: Series | None = None
    curtailed_wh: float = 0.0  # offered by sun and wind, held back by the export limit
    export_limit_w: float | None = None  # the root's export_kw (None: no export limit)
    export: ExportCheck | None = None  # grid export against that limit

    def delivered_by_departure_wh(self) -> float:
        """Energy the trucks that left got, up to what each wanted."""
        return sum(min(t.delivered_wh, t.wanted_wh) for t in self.trucks if t.left and t.bay)

    def breaks_served(self) -> tuple[int, int]:
        """(break trucks that left served, break trucks that left)."""
        done = [t for t in self.trucks if t.kind.value == "break" and t.left and t.bay]
        return sum(t.met for t in done), len(done)
