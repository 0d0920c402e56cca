"""The day over time, sampled every `every_s` for the report's plots (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge.sim.plant import Plant


@dataclass(slots=True)
class Series:
    every_s: float
    t: list[float] = field(default_factory=list)  # UTC epoch s
    grid_w: list[float] = field(default_factory=list)
    base_w: list[float] = field(default_factory=list)
    solar_w: list[float] = field(default_factory=list)
    wind_w: list[float] = field(default_factory=list)
    curtailed_w: list[float] = field(default_factory=list)  # offered, held back by the limit
    charging_w: list[float] = field(default_factory=list)
    limit_w: list[float] = field(default_factory=list)  # the grid connection's import limit
    gate_queue: list[int] = field(default_factory=list)  # trucks waiting at the gate
    occupied: list[int] = field(default_factory=list)  # bays with a truck
    plot_w: dict[str, list[float]] = field(default_factory=dict)  # charging per plot
    _next: float = float("-inf")

    def sample(self, plant: Plant, now: float, limit_w: float, queue: int) -> None:
        if now < self._next:
            return
        self._next = now + self.every_s
        self.t.append(now)
        self.grid_w.append(plant.grid_w())
        self.base_w.append(plant.base_w)
        self.solar_w.append(plant.solar_w)
        self.wind_w.append(plant.wind_w)
        self.curtailed_w.append(plant.curtailed_w())
        self.charging_w.append(plant.charging_w())
        self.limit_w.append(limit_w)
        self.gate_queue.append(queue)
        self.occupied.append(sum(1 for b in plant.bays.values() if b.truck is not None))
        by_plot: dict[str, float] = {}
        for sim in plant.bays.values():
            by_plot[sim.bay.plot] = by_plot.get(sim.bay.plot, 0.0) + sim.draw_w
        for plot, w in by_plot.items():
            self.plot_w.setdefault(plot, []).append(w)
