"""Every limit node against its limit after each step, with the excess explained or not.

An excess is *explained* when it is no more than what chargers still draw above their
setpoint (a ramp-down window, or a charger that does not follow) plus the change in base
load and generation since the controller last read the meters (what it could not have
seen). The day runner reports both, so a test can require the unexplained excess to be zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.sim.plant import Plant
from edge.siteconf.model import LimitNode


@dataclass(slots=True)
class LimitCheck:
    seconds_above: float = 0.0
    max_excess: float = 0.0
    max_unexplained: float = 0.0
    peak: float = float("-inf")
    seconds_unexplained: float = 0.0

    def after_step(
        self,
        plant: Plant,
        limits: tuple[LimitNode, ...],
        seen: dict[str, float],
        period_s: float,
    ) -> None:
        self.peak = max(self.peak, plant.grid_w())
        above = unexplained = False
        for node in limits:
            excess = plant.node_w(node.id) - node.import_kw * 1e3
            if excess <= 0:
                continue
            above = True
            ramping = sum(
                max(0.0, plant.bays[b].draw_w - plant.bays[b].setpoint_w)
                for b in plant.under[node.id]
            )
            unseen = max(0.0, exogenous_w(plant, node.id) - seen[node.id])
            self.max_excess = max(self.max_excess, excess)
            rest = excess - ramping - unseen
            self.max_unexplained = max(self.max_unexplained, rest)
            unexplained = unexplained or rest > 1.0
        if above:
            self.seconds_above += period_s
        if unexplained:
            self.seconds_unexplained += period_s


def exogenous_w(plant: Plant, node: str) -> float:
    """What the node's meter sees besides its chargers (base load share, generation)."""
    return plant.node_w(node) - plant.node_charging_w(node)
