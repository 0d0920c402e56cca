"""Simulated devices that read their values from the plant (`edge demo`): node meters see
base load + charging - solar - wind through the limit tree; a charger cabinet takes a
setpoint per connector and reports each connector's truck (status, power, energy, state of
charge, what the truck accepts).

The point names are the profiles' own: connector 1's plain names, connector n's
`connector_<n>_<name>` (the `[connectors]` block of the cabinet and Alpitronic profiles).
Status codes come from the profile's labels, so one model serves both maps.
"""

from __future__ import annotations

from collections.abc import Mapping

from edge.drivers.modbus_profile import Profile
from edge.sessions import BayState
from edge.sim.models import MeterModel
from edge.sim.plant import Plant

_LABELS: dict[BayState, tuple[str, ...]] = {  # the profile's word for each state, first found
    BayState.AVAILABLE: ("ready", "available"),
    BayState.OCCUPIED: ("occupied", "preparing-ev-ready"),
    BayState.CHARGING: ("charging",),
    BayState.SUSPENDED_EV: ("suspended-ev",),
    BayState.SUSPENDED_EVSE: ("suspended-evse",),
    BayState.FINISHING: ("finishing",),
}


def node_meter(plant: Plant, node: str) -> MeterModel:
    """A limit node's meter (import positive)."""
    return MeterModel(lambda wall: plant.node_w(node))


def generation_meter(plant: Plant, role: str) -> MeterModel:
    """A solar or wind meter (generation view: output positive)."""
    if role == "wind":
        return MeterModel(lambda wall: plant.wind_w)
    return MeterModel(lambda wall: plant.solar_w)


def _prefix(connector: int) -> str:
    return "" if connector == 1 else f"connector_{connector}_"


class PlantCabinet:
    """A charger cabinet whose connectors are the plant's bays. A connector follows its
    setpoint through the plant (ramps, faults); without a setpoint write for `watchdog_s`
    the cabinet shares its fallback power over its connectors and reports fallback."""

    def __init__(self, plant: Plant, profile: Profile, bays: Mapping[int, str]) -> None:
        self.plant, self.bays = plant, dict(bays)  # connector id -> bay id
        status = next((p for p in profile.points if p.name == "status"), None)
        words = {w: code for code, w in (status.labels.items() if status else ())}
        self._codes = {
            s: next((float(words[w]) for w in names if w in words), 0.0)
            for s, names in _LABELS.items()
        }
        self._fallback_code = float(words.get("fallback", words.get("faulted", 0)))
        self.fallback_w = 0.0
        self.watchdog_s = 0.0
        self._last_write: float | None = None
        self._in_fallback = False

    def values(self, wall: float) -> dict[str, float]:
        self._watchdog(wall)
        sims = [self.plant.bays[b] for b in self.bays.values()]
        out = {
            "max_power_w": sims[0].charger.max_power_kw * 1e3 if sims else 0.0,
            "fallback_power_w": self.fallback_w,
            "watchdog_s": self.watchdog_s,
        }
        for connector, bay in self.bays.items():
            sim, pre = self.plant.bays[bay], _prefix(connector)
            truck = sim.truck
            fallback = self._in_fallback and truck is not None  # an empty connector: its own
            code = self._fallback_code if fallback else self._codes[sim.state()]
            out[pre + "status"] = code
            out[pre + "power_w"] = sim.draw_w
            out[pre + "power_setpoint_w"] = sim.setpoint_w
            out[pre + "voltage_v"] = 800.0 if truck is not None else 0.0
            out[pre + "current_a"] = sim.draw_w / 800.0
            out[pre + "session_energy_wh"] = truck.delivered_wh if truck is not None else 0.0
            out[pre + "ev_soc_pct"] = 100.0 * truck.soc if truck is not None else 0.0
            out[pre + "ev_max_power_w"] = truck.accepts_w() if truck is not None else 0.0
        return out

    def on_write(self, point: str, value: float, wall: float) -> None:
        for connector, bay in self.bays.items():
            if point == _prefix(connector) + "power_setpoint_w":
                self.plant.write(bay, value)
                self._last_write, self._in_fallback = wall, False
                return
        if point == "fallback_power_w":
            self.fallback_w = value
        elif point == "watchdog_s":
            self.watchdog_s = value

    def _watchdog(self, wall: float) -> None:
        last = self._last_write
        expired = bool(self.watchdog_s) and (last is None or wall - last > self.watchdog_s)
        if expired and not self._in_fallback:
            share = self.fallback_w / max(1, len(self.bays))
            for bay in self.bays.values():
                self.plant.write(bay, share)
        self._in_fallback = expired
