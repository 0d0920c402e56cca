"""A simulated SunSpec inverter, its register map built from pysunspec2's model definitions
(the same ones the driver decodes with), served by the Modbus simulator like any unit.

Physics: AC power follows `power_fn(wall)` (daylight and clouds for PV), capped by an active
power limit; the energy counter integrates the delivered power. Curtailment follows the
SunSpec rules the driver relies on: 704 WMaxLimPct with WMaxLimPctEna and a reversion timer
that falls back to WMaxLimPctRvrt, or 123 WMaxLimPct with WMaxLim_Ena and
WMaxLimPct_RvrtTms that falls back to no limit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from edge.drivers import sunspec_models as sm
from edge.drivers.modbus_profile import Table
from edge.sim.physics import EnergyCounter
from edge.sim.sim_unit import Fault

LEGACY = (1, 103, 120, 123)  # a typical pre-2018 inverter
IEEE1547 = (1, 701, 702, 704)  # a typical current inverter
_STATIC: Mapping[int, Mapping[str, object]] = {
    1: {"Mn": "edge-hub", "Md": "SimInverter", "SN": "SIM-0001", "Vr": "1.0"},
    103: {"W_SF": 0, "WH_SF": 0, "Hz_SF": -2, "V_SF": -1, "A_SF": -1, "St": 4},
    120: {"DERTyp": 4, "WRtg_SF": 0},
    123: {"WMaxLimPct": 100, "WMaxLimPct_SF": 0, "WMaxLim_Ena": 0},
    701: {"W_SF": 0, "TotWh_SF": 0, "Hz_SF": -2, "V_SF": -1, "A_SF": -1, "InvSt": 2},
    702: {"W_SF": 0},
    704: {"WMaxLimPct": 100, "WMaxLimPct_SF": 0, "WMaxLimPctEna": 0, "WMaxLimPctRvrt": 100},
}


@dataclass(slots=True)
class _Control:
    last_write: float | None = None


@dataclass(slots=True)
class SunSpecSimUnit:
    unit: int
    power_fn: Callable[[float], float]  # available AC power (W) at wall time
    rated_w: float
    models: Sequence[int] = IEEE1547
    base: int = 40000
    fault: Fault = field(default_factory=Fault)
    requests: int = 0
    reads: int = 0
    writes: list[tuple[int, str, float]] = field(default_factory=list)
    image: dict[int, int] = field(default_factory=dict)
    locations: dict[int, sm.ModelLocation] = field(default_factory=dict)
    _energy: EnergyCounter = field(default_factory=EnergyCounter)
    _control: _Control = field(default_factory=_Control)

    def __post_init__(self) -> None:
        address = self.base
        self._put(address, list(sm.SUNS))
        address += 2
        # Power registers are 16 bit: pick the power scale factor the rating needs.
        sf = 0
        while self.rated_w / 10**sf > 32767:
            sf += 1
        rating = round(self.rated_w / 10**sf)
        for model_id in self.models:
            static = dict(_STATIC.get(model_id, {}))
            if model_id in (103, 701, 702):
                static["W_SF"] = sf
            if model_id == 120:
                static |= {"WRtg": rating, "WRtg_SF": sf}
            if model_id == 702:
                static |= {"WMaxRtg": rating, "WMax": rating}
            words = sm.model_words(model_id, static)
            self.locations[model_id] = sm.ModelLocation(model_id, address, len(words) - 2)
            self._put(address, words)
            address += len(words)
        self._put(address, [sm.END_MODEL, 0])

    def _put(self, address: int, words: list[int]) -> None:
        for i, word in enumerate(words):
            self.image[address + i] = word

    def _model_words(self, model_id: int) -> list[int]:
        loc = self.locations[model_id]
        return [self.image[loc.address + i] for i in range(loc.words)]

    def set(self, model_id: int, name: str, value: float) -> None:
        loc = self.locations[model_id]
        regs = sm.encode(model_id, self._model_words(model_id), name, value)
        self._put(loc.address + sm.points(model_id)[name].offset, regs)

    def get(self, model_id: int, name: str) -> float | None:
        value = sm.decode(model_id, self._model_words(model_id)).get(name)
        return value if isinstance(value, float) else None

    # -- what the server calls -------------------------------------------------------------

    def spans(self) -> dict[Table, tuple[int, int]]:
        return {Table.HOLDING: (min(self.image), max(self.image) + 1)}

    def words(self, table: Table, address: int, count: int) -> list[tuple[int, int]]:
        if table is not Table.HOLDING:
            return []
        return [(a, self.image[a]) for a in range(address, address + count) if a in self.image]

    def on_read(self, table: Table, wall: float) -> None:
        if self.fault.frozen:
            return
        self._revert_if_silent(wall)
        power = min(self.power_fn(wall), self.limit_w())
        self._energy.advance(wall, power)
        if 701 in self.locations:
            for name, value in (("W", power), ("TotWhInj", self._energy.import_wh), ("Hz", 50.0)):
                self.set(701, name, value)
            self.set(701, "LNV", 230.0)
        if 103 in self.locations:
            for name, value in (("W", power), ("WH", self._energy.import_wh), ("Hz", 50.0)):
                self.set(103, name, value)
            self.set(103, "PhVphA", 230.0)

    def on_write(self, table: Table, address: int, raw: list[int], wall: float) -> None:
        self._put(address, raw)
        for model_id, loc in self.locations.items():
            for name, info in sm.points(model_id).items():
                offset = loc.address + info.offset
                if address <= offset < address + len(raw):
                    value = self.get(model_id, name)
                    self.writes.append((model_id, name, value if value is not None else -1.0))
                    if model_id in (123, 704):
                        self._control.last_write = wall

    # -- behaviour -------------------------------------------------------------------------

    def output_w(self, wall: float) -> float:
        """What the inverter feeds in now: what its source offers, up to its active power
        limit (what a simulated grid meter beside it should see)."""
        return min(self.power_fn(wall), self.limit_w())

    def limit_w(self) -> float:
        for model_id, ena, pct in (
            (704, "WMaxLimPctEna", "WMaxLimPct"),
            (123, "WMaxLim_Ena", "WMaxLimPct"),
        ):
            if model_id in self.locations and self.get(model_id, ena) == 1:
                return self.rated_w * (self.get(model_id, pct) or 0.0) / 100.0
        return self.rated_w

    def _revert_if_silent(self, wall: float) -> None:
        last = self._control.last_write
        if last is None:
            return
        if 704 in self.locations and self.get(704, "WMaxLimPctEna") == 1:
            timeout = self.get(704, "WMaxLimPctRvrtTms") or 0.0
            if timeout and wall - last > timeout and self.get(704, "WMaxLimPctEnaRvrt") == 1:
                self.set(704, "WMaxLimPct", self.get(704, "WMaxLimPctRvrt") or 100.0)
                self._control.last_write = None
        if 123 in self.locations and self.get(123, "WMaxLim_Ena") == 1:
            timeout = self.get(123, "WMaxLimPct_RvrtTms") or 0.0
            if timeout and wall - last > timeout:
                self.set(123, "WMaxLim_Ena", 0)
                self._control.last_write = None
