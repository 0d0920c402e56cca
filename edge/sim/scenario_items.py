"""A scenario's `[weather]`, `[[arrivals]]` and `[[faults]]`, read and checked
(`docs/scenarios.md` lists every key)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from edge.sessions import SessionKind
from edge.sim.events import ChargerFault, Event, GridLimit, MeterFault, MeterMode, Spike, UplinkDown
from edge.sim.plant import FaultMode, Weather
from edge.sim.scenario_gen import generated
from edge.sim.scenario_keys import Keys
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf.model import SiteConfig

WEATHER_KEYS = ("base_kw", "peak_kw", "pv_kw", "wind_kw", "seed")
ARRIVAL_KEYS = (
    "at",
    "id",
    "count",
    "every_s",
    "booked",
    "slot",
    "connector",
    "inlet_side",
    "battery_kwh",
    "soc",
    "energy_kwh",
    "max_kw",
    "dwell",
    "dwell_min",
    "leave",
    "vehicle",
    "plot",
    "knee",
    "reports_needs",
)
FAULT_KINDS = (
    "meter-silent",
    "meter-frozen",
    "charger-ignore",
    "charger-lag",
    "uplink-down",
    "grid-limit",
    "base-spike",
)
FAULT_KEYS = ("at", "kind", "duration_min", "node", "charger", "lag_s", "import_kw", "extra_kw")
VEHICLES = ("electric-truck", "truck", "other", "unknown")
MCS_DEFAULT_KW = 1200.0
BREAK_MIN = 45.0


def weather_of(keys: Keys, w: Mapping[str, Any]) -> Weather:
    keys.unknown(("weather",), w, WEATHER_KEYS)
    d = Weather()
    return Weather(
        keys.number(("weather", "base_kw"), w, d.base_kw, 0.0, 1e5),
        keys.number(("weather", "peak_kw"), w, d.peak_kw, 0.0, 1e5),
        keys.number(("weather", "pv_kw"), w, d.pv_kw, 0.0, 1e5),
        keys.number(("weather", "wind_kw"), w, d.wind_kw, 0.0, 1e5),
        int(keys.typed(("weather", "seed"), w, int, d.seed)),
    )


def arrivals_of(
    keys: Keys, data: Mapping[str, Any], day0: datetime, site: SiteConfig, seed: int | None
) -> tuple[TruckSpec, ...]:
    out = list(generated(keys, keys.table(data, "generate"), day0, site, seed))
    for i, a in enumerate(keys.tables(data, "arrivals")):
        keys.unknown(("arrivals", i), a, ARRIVAL_KEYS)
        out.extend(_arrival(keys, i, a, day0, site))
    ids = [t.id for t in out]
    for dup in sorted({x for x in ids if ids.count(x) > 1}):
        keys.fail(("arrivals",), f"truck id {dup!r} used twice")
    return tuple(sorted(out, key=lambda t: (t.arrive, t.id)))


def _arrival(
    keys: Keys, i: int, a: Mapping[str, Any], day0: datetime, site: SiteConfig
) -> list[TruckSpec]:
    p = ("arrivals", i)
    at = keys.when((*p, "at"), a, day0)
    connector = keys.choice((*p, "connector"), a, ("CCS", "MCS"), "CCS")
    default_kw = CCS_MAX_W / 1e3 if connector == "CCS" else MCS_DEFAULT_KW
    battery = keys.number((*p, "battery_kwh"), a, 600.0, 50.0, 5000.0) * 1e3
    soc = keys.number((*p, "soc"), a, 0.2, 0.0, 1.0)
    wanted = keys.number((*p, "energy_kwh"), a, (0.9 - soc) * battery / 1e3, 0.1, 5000.0) * 1e3
    if wanted > (1.0 - soc) * battery + 1.0:
        keys.fail((*p, "energy_kwh"), "more than the battery can take from its soc")
    kind, stay_s, leave_at = _dwell(keys, p, a, day0)
    plot = a.get("plot")
    if plot is not None and plot not in {pl.id for pl in site.plots}:
        keys.fail((*p, "plot"), f"no plot {plot!r} in the site file")
    count = int(keys.number((*p, "count"), a, 1, 1, 500))
    every = keys.number((*p, "every_s"), a, 0.0, 0.0, 86_400.0)
    booked = bool(keys.typed((*p, "booked"), a, bool, False))
    slot = keys.when((*p, "slot"), a, day0) if "slot" in a else None
    base = str(keys.typed((*p, "id"), a, str, f"A{i:03d}"))
    out = []
    for k in range(count):
        t = at + k * every
        out.append(
            TruckSpec(
                base if count == 1 else f"{base}-{k + 1}",
                kind,
                connector,
                t,
                max(leave_at or 0.0, t + stay_s),
                battery,
                soc,
                wanted,
                keys.number((*p, "max_kw"), a, default_kw, 1.0, 4000.0) * 1e3,
                keys.number((*p, "knee"), a, 0.75, 0.1, 0.99),
                booked=booked,
                slot=None if slot is None else slot + k * every,
                inlet_side=keys.choice((*p, "inlet_side"), a, ("left", "right"), "left"),
                vehicle=keys.choice((*p, "vehicle"), a, VEHICLES, "electric-truck"),
                plot=plot if isinstance(plot, str) else None,
                reports_needs=bool(keys.typed((*p, "reports_needs"), a, bool, False)),
            )
        )
    return out


def _dwell(
    keys: Keys, p: tuple[str, int], a: Mapping[str, Any], day0: datetime
) -> tuple[SessionKind, float, float | None]:
    """(kind, stay_s, leave_at): the truck leaves at max(leave_at, arrival + stay_s)."""
    dwell = keys.choice((*p, "dwell"), a, ("break", "overnight", "given"), "break")
    if dwell == "given":
        return SessionKind.BREAK, keys.number((*p, "dwell_min"), a, lo=1.0, hi=1e4) * 60.0, None
    if dwell == "overnight":
        return SessionKind.OVERNIGHT, 60.0, keys.when((*p, "leave"), a, day0, "+1 06:00")
    return SessionKind.BREAK, BREAK_MIN * 60.0, None


def faults_of(
    keys: Keys, items: Sequence[Mapping[str, Any]], day0: datetime, site: SiteConfig
) -> tuple[Event, ...]:
    out: list[Event] = []
    for i, f in enumerate(items):
        keys.unknown(("faults", i), f, FAULT_KEYS)
        ev = _fault(keys, ("faults", i), f, day0, site)
        if ev is not None:
            out.append(ev)
    return tuple(sorted(out, key=lambda e: e.at))


def _fault(
    keys: Keys, p: tuple[str, int], f: Mapping[str, Any], day0: datetime, site: SiteConfig
) -> Event | None:
    at = keys.when((*p, "at"), f, day0)
    kind = keys.choice((*p, "kind"), f, FAULT_KINDS, None)
    dur = keys.number((*p, "duration_min"), f, lo=0.0, hi=7 * 1440.0) * 60.0
    if kind.startswith("meter") or kind == "grid-limit":
        node = keys.choice((*p, "node"), f, [n.id for n in site.limits], None)
        if kind == "grid-limit":
            return GridLimit(at, node, keys.number((*p, "import_kw"), f, lo=0.0, hi=1e5), dur)
        if next(n for n in site.limits if n.id == node).meter is None:
            keys.fail((*p, "node"), f"limit node {node!r} has no meter")
        mode = MeterMode.SILENT if kind == "meter-silent" else MeterMode.FROZEN
        return MeterFault(at, node, mode, dur)
    if kind.startswith("charger"):
        charger = keys.choice((*p, "charger"), f, [c.id for c in site.chargers], None)
        if kind == "charger-ignore":
            return ChargerFault(at, charger, FaultMode.IGNORE, dur)
        lag = keys.number((*p, "lag_s"), f, lo=0.0, hi=600.0)
        return ChargerFault(at, charger, FaultMode.LAG, dur, lag)
    if kind == "uplink-down":
        return UplinkDown(at, dur)
    return Spike(at, keys.number((*p, "extra_kw"), f, lo=-1e5, hi=1e5) * 1e3, dur)
