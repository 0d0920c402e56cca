"""The closed-loop simulated plant: bays with trucks, chargers that follow setpoints with a
ramp, base load, solar, wind and the node meters. Pure: `step(dt_s)` advances it; no clock,
no I/O, so the day runner and `edge demo` drive the same model at any speed.

Conventions: W and Wh, import positive (as `edge/readings.py`). Exogenous values (base load,
solar, wind) are sampled at the end of each step and held over it, so the integrated energy
balance is exact: grid = base + charging - solar - wind, with solar and wind what the
inverters feed in: what sun and wind offer, less what the export limit curtails
(`edge/sim/inverter.py`, one inverter each for solar and wind, rated at `pv_kw` and
`wind_kw`).

Chargers: a setpoint write becomes the charger's applied limit at once (or `lag_s` later, or
never, as injected faults); the charger's output limit then rises at its `ramp_kw_s` and
falls from what the truck draws to the new limit within a quarter of its `ramp_down_s`
(the documented time in which a decrease is done); the cabinet never delivers more than
its `max_power_kw` over its bays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from edge.power.budget import bays_under
from edge.sessions import BayState
from edge.sim.inverter import InverterSim
from edge.sim.physics import site_load_w, solar_w, wind_w
from edge.sim.trucks import Truck, TruckSpec
from edge.siteconf.model import Bay, Charger, LimitNode

DOWN_SHARE = 0.25  # a charger's full drop takes this share of its ramp_down_s


@dataclass(frozen=True, slots=True)
class Weather:
    """The rest of the site: base load (offices, workshop, cooling), solar, wind."""

    base_kw: float = 400.0  # at night
    peak_kw: float = 600.0  # the daytime hump's top
    pv_kw: float = 800.0  # peak solar
    wind_kw: float = 0.0  # rated wind
    seed: int = 7


class FaultMode(StrEnum):
    NONE = "none"
    IGNORE = "ignore"  # accepts writes, keeps its old limit
    LAG = "lag"  # applies each write `lag_s` late


@dataclass(slots=True)
class BaySim:
    bay: Bay
    charger: Charger
    max_w: float  # min(bay, charger) maximum: the connector's ceiling
    setpoint_w: float = 0.0  # what the controller wrote last
    limit_w: float = 0.0  # what the charger applies (the setpoint, unless faulted)
    output_w: float = 0.0  # the charger's present output limit (ramping to limit_w)
    truck: Truck | None = None
    pending: deque[tuple[float, float]] = field(default_factory=deque)  # lagged writes

    @property
    def draw_w(self) -> float:
        return self.truck.draw_w if self.truck is not None else 0.0

    def state(self) -> BayState:
        t = self.truck
        if t is None:
            return BayState.AVAILABLE
        if t.full:
            return BayState.SUSPENDED_EV
        if t.draw_w <= 0.0 and self.output_w <= 0.0:
            return BayState.SUSPENDED_EVSE
        return BayState.CHARGING


@dataclass(slots=True)
class Totals:
    """Energy over the run (Wh): grid import - export + solar + wind - curtailed = base +
    charging."""

    grid_import_wh: float = 0.0
    grid_export_wh: float = 0.0
    base_wh: float = 0.0
    charging_wh: float = 0.0
    solar_wh: float = 0.0  # what the sun offered (before curtailment)
    wind_wh: float = 0.0  # what the wind offered (before curtailment)
    curtailed_wh: float = 0.0  # offered but not fed in: the inverters' limits


class Plant:
    def __init__(
        self,
        limits: tuple[LimitNode, ...],
        chargers: tuple[Charger, ...],
        bays: tuple[Bay, ...],
        timezone: str,
        start_wall: float,
        weather: Weather | None = None,
    ) -> None:
        self.limits = limits
        self.now = start_wall
        self.weather = weather or Weather()
        self._tz = ZoneInfo(timezone)
        by_id = {c.id: c for c in chargers}
        self.bays = {
            b.id: BaySim(
                b, by_id[b.charger], min(b.max_power_kw, by_id[b.charger].max_power_kw) * 1e3
            )
            for b in bays
        }
        self._cabinets: dict[str, list[BaySim]] = {c.id: [] for c in chargers}
        for sim in self.bays.values():
            self._cabinets[sim.charger.id].append(sim)
        self.under = bays_under(limits, chargers, bays)
        self._root = next(n.id for n in limits if n.parent is None)
        parents = {n.parent for n in limits}
        leaves = [n.id for n in limits if n.id not in parents] or [self._root]
        self._base_share = {n.id: 0.0 for n in limits}  # base load is spread over the leaves
        for leaf in leaves:
            node: str | None = leaf
            while node is not None:
                self._base_share[node] += 1.0 / len(leaves)
                node = next(n.parent for n in limits if n.id == node)
        self.faults: dict[str, tuple[FaultMode, float]] = {}  # charger -> (mode, lag_s)
        self.spikes: list[tuple[float, float]] = []  # (until wall, extra W)
        self.totals = Totals()
        self._charging: dict[str, float] | None = None
        self.inverters = {
            i: InverterSim(i, kw * 1e3)
            for i, kw in (("pv", self.weather.pv_kw), ("wind", self.weather.wind_kw))
            if kw > 0
        }
        self.base_w = self.solar_w = self.wind_w = 0.0  # solar, wind: what is fed in
        self.offered_solar_w = self.offered_wind_w = 0.0  # what sun and wind offer
        self._sample()

    # ---- the controller's side ---------------------------------------------------------

    def write(self, bay: str, power_w: float) -> None:
        """A setpoint write to a bay's connector, as its charger receives it."""
        sim = self.bays[bay]
        sim.setpoint_w = power_w
        mode, lag_s = self.faults.get(sim.charger.id, (FaultMode.NONE, 0.0))
        if mode is FaultMode.IGNORE:
            return
        if mode is FaultMode.LAG and lag_s > 0:
            sim.pending.append((self.now + lag_s, power_w))
            return
        sim.limit_w = min(power_w, sim.max_w)

    def node_w(self, node: str) -> float:
        """What the node's meter reads: its base load share + its bays' draw - generation
        (solar and wind are connected at the root)."""
        power = self.base_w * self._base_share[node] + self.node_charging_w(node)
        if node == self._root:
            power -= self.solar_w + self.wind_w
        return power

    def node_charging_w(self, node: str) -> float:
        """The bays' draw under `node` (computed once per step)."""
        if self._charging is None:
            self._charging = {
                n: sum(self.bays[b].draw_w for b in bays) for n, bays in self.under.items()
            }
        return self._charging[node]

    def grid_w(self) -> float:
        return self.node_w(self._root)

    def charging_w(self) -> float:
        return sum(b.draw_w for b in self.bays.values())

    def exogenous_w(self) -> float:
        """Base load - solar - wind: what the grid meter sees besides the chargers."""
        return self.base_w - self.solar_w - self.wind_w

    # ---- the world's side --------------------------------------------------------------

    def arrive(self, spec: TruckSpec, bay: str) -> Truck:
        sim = self.bays[bay]
        if sim.truck is not None:
            raise ValueError(f"bay {bay}: truck {sim.truck.spec.id} is still on it")
        sim.truck = Truck.arrive(spec, bay)
        self._charging = None
        return sim.truck

    def depart(self, bay: str) -> Truck | None:
        sim = self.bays[bay]
        truck, sim.truck = sim.truck, None
        self._charging = None
        return truck

    def free_bays(self, connector: str) -> list[str]:
        return [b for b, s in self.bays.items() if s.truck is None and s.bay.connector == connector]

    def spike(self, extra_w: float, duration_s: float) -> None:
        """A base-load step (a compressor, a workshop welder) from now for `duration_s`."""
        self.spikes.append((self.now + duration_s, extra_w))

    def step(self, dt_s: float) -> None:
        self.now += dt_s
        self._charging = None
        self._sample()
        for sim in self.bays.values():
            while sim.pending and sim.pending[0][0] <= self.now:
                sim.limit_w = min(sim.pending.popleft()[1], sim.max_w)
            self._ramp(sim, dt_s)
        for cabinet in self._cabinets.values():
            self._share_cabinet(cabinet)
        for sim in self.bays.values():
            if sim.truck is not None:
                sim.truck.step(sim.output_w, sim.max_w, dt_s)
        self._charging = None
        self._count(dt_s)

    def _ramp(self, sim: BaySim, dt_s: float) -> None:
        ch = sim.charger
        if sim.limit_w >= sim.output_w:
            sim.output_w = min(sim.limit_w, sim.output_w + ch.ramp_kw_s * 1e3 * dt_s)
            return
        down_w_s = ch.max_power_kw * 1e3 / max(1e-3, ch.ramp_down_s * DOWN_SHARE)
        sim.output_w = max(sim.limit_w, min(sim.output_w, sim.draw_w) - down_w_s * dt_s)

    @staticmethod
    def _share_cabinet(cabinet: list[BaySim]) -> None:
        """A cabinet's modules go round its bays: never more than its rating in all."""
        rated = cabinet[0].charger.max_power_kw * 1e3
        total = sum(s.output_w for s in cabinet)
        if total > rated:
            for s in cabinet:
                s.output_w *= rated / total

    def _sample(self) -> None:
        w = self.weather
        offset_h = self._utc_offset_h()
        self.spikes = [(until, extra) for until, extra in self.spikes if until > self.now]
        extra = sum(e for _, e in self.spikes)
        self.base_w = site_load_w(self.now, w.base_kw, w.peak_kw, offset_h) + extra
        self.offered_solar_w = solar_w(self.now, w.pv_kw, offset_h, w.seed) if w.pv_kw else 0.0
        self.offered_wind_w = wind_w(self.now, w.wind_kw, w.seed) if w.wind_kw else 0.0
        inv = self.inverters
        self.solar_w = inv["pv"].output_w(self.offered_solar_w, self.now) if "pv" in inv else 0.0
        self.wind_w = inv["wind"].output_w(self.offered_wind_w, self.now) if "wind" in inv else 0.0

    def curtailed_w(self) -> float:
        """What sun and wind offer that the inverters' limits hold back now."""
        return self.offered_solar_w + self.offered_wind_w - self.solar_w - self.wind_w

    def _utc_offset_h(self) -> float:
        off = datetime.fromtimestamp(self.now, self._tz).utcoffset()
        return off.total_seconds() / 3600.0 if off is not None else 0.0

    def _count(self, dt_s: float) -> None:
        t, h = self.totals, dt_s / 3600.0
        grid = self.grid_w()
        if grid >= 0:
            t.grid_import_wh += grid * h
        else:
            t.grid_export_wh -= grid * h
        t.base_wh += self.base_w * h
        t.charging_wh += self.charging_w() * h
        t.solar_wh += self.offered_solar_w * h
        t.wind_wh += self.offered_wind_w * h
        t.curtailed_wh += self.curtailed_w() * h
