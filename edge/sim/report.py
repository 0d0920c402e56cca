"""A scenario run's report: JSON (schema `docs/scenarios.md`, `edge/sim/report.schema.json`)
and a human summary. Pure: built from the results, no I/O."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.sim.day_runner import DayResult
from edge.sim.export_sim import ExportCheck
from edge.sim.scenario import Scenario
from edge.sim.traffic import TruckResult

SCHEMA = "edge-sim-report/2"


def service(r: DayResult) -> dict[str, Any]:
    served, left = r.breaks_served()
    return {
        "delivered_by_departure_kwh": round(r.delivered_by_departure_wh() / 1e3, 3),
        "breaks_served": served,
        "breaks_left": left,
        "peak_import_kw": round(r.peak_import_w / 1e3, 3),
        "seconds_above_limit": r.seconds_above_limit,
    }


def build(
    sc: Scenario,
    r: DayResult,
    baselines: Mapping[str, DayResult],
    bounds: Mapping[str, Any],
) -> dict[str, Any]:
    tz = ZoneInfo(sc.site.timezone)
    own = service(r)
    return {
        "schema": SCHEMA,
        "scenario": {
            "name": sc.name,
            "file": str(sc.file),
            "site": sc.site.site_id,
            "start": datetime.fromtimestamp(sc.start, tz).isoformat(),
            "duration_s": sc.duration_s,
            "period_s": sc.period_s,
            "seed": sc.seed,
            "knowledge": sc.knowledge,
        },
        "trucks": [_truck(t) for t in r.trucks],
        "site": _site(sc, r),
        "access": _access(r.trucks, r),
        "uplink": _uplink(r),
        "service": own,
        "baselines": {name: service(b) for name, b in baselines.items()},
        "bounds": dict(bounds),
        "ratios": _ratios(own, baselines, bounds),
        "run": {
            "sim_s": r.sim_s,
            "wall_s": round(r.wall_s, 3),
            "sim_s_per_wall_s": round(r.sim_s / max(r.wall_s, 1e-9), 1),
        },
    }


def _truck(t: TruckResult) -> dict[str, Any]:
    return {
        "id": t.id,
        "kind": t.kind.value,
        "booked": t.booked,
        "admitted": t.bay is not None,
        "reason": str(t.reason),
        "wait_s": t.wait_s,
        "bay": t.bay,
        "wanted_kwh": round(t.wanted_wh / 1e3, 3),
        "delivered_kwh": round(t.delivered_wh / 1e3, 3),
        "left": t.left,
        "met": t.met,
    }


def _site(sc: Scenario, r: DayResult) -> dict[str, Any]:
    s = r.series
    util = None
    if s is not None and s.occupied:
        util = round(sum(s.occupied) / (len(s.occupied) * len(sc.site.bays)), 4)
    return {
        "limit_kw": r.limit_w / 1e3,
        "peak_import_kw": round(r.peak_import_w / 1e3, 3),
        "peak_share_of_limit": round(r.peak_import_w / r.limit_w, 4),
        "seconds_above_limit": r.seconds_above_limit,
        "seconds_above_unexplained": r.seconds_unexplained,
        "max_excess_kw": round(r.max_excess_w / 1e3, 3),
        "max_unexplained_kw": round(r.max_unexplained_w / 1e3, 3),
        "grid_import_kwh": round(r.grid_import_wh / 1e3, 3),
        "grid_export_kwh": round(r.grid_export_wh / 1e3, 3),
        "base_kwh": round(r.base_wh / 1e3, 3),
        "charging_kwh": round(r.charging_wh / 1e3, 3),
        "solar_kwh": round(r.solar_wh / 1e3, 3),
        "wind_kwh": round(r.wind_wh / 1e3, 3),
        "curtailment_kwh": round(r.curtailed_wh / 1e3, 3),
        **_export(r),
        "bay_utilisation": util,
    }


def _export(r: DayResult) -> dict[str, Any]:
    """Grid export against `export_kw` (`edge.sim.export_sim.ExportCheck`)."""
    c = r.export or ExportCheck()
    return {
        "export_limit_kw": None if r.export_limit_w is None else r.export_limit_w / 1e3,
        "peak_export_kw": round(c.peak_w / 1e3, 3),
        "seconds_above_export_limit": c.seconds_above,
        "seconds_above_export_unexplained": c.seconds_unexplained,
        "max_export_excess_kw": round(c.max_excess_w / 1e3, 3),
        "max_export_unexplained_kw": round(c.max_unexplained_w / 1e3, 3),
    }


def _access(trucks: Sequence[TruckResult], r: DayResult) -> dict[str, Any]:
    booked = [t for t in trucks if t.booked]
    adhoc = [t for t in trucks if not t.booked]
    queue = max(r.series.gate_queue, default=0) if r.series is not None else None
    return {
        "booked": len(booked),
        "booked_admitted": sum(t.bay is not None for t in booked),
        "booked_admitted_on_time": sum(t.bay is not None and t.wait_s <= 0 for t in booked),
        "ad_hoc": len(adhoc),
        "ad_hoc_admitted": sum(t.bay is not None for t in adhoc),
        "ad_hoc_refused": sum(t.bay is None and t.reason != "Waiting" for t in adhoc),
        "refused_by_reason": dict(
            Counter(str(t.reason) for t in trucks if t.bay is None and t.reason != "Waiting")
        ),
        "waiting_at_end": sum(t.reason == "Waiting" for t in trucks),
        "max_wait_s": max((t.wait_s for t in trucks), default=0.0),
        "max_gate_queue": queue,
    }


def _uplink(r: DayResult) -> dict[str, Any] | None:
    u = r.uplink
    if u is None:
        return None
    return {
        "produced": u.produced,
        "delivered": u.delivered,
        "lost": u.lost,
        "duplicated": u.duplicated,
        "waiting_at_end": u.waiting_at_end,
        "max_waiting": u.max_waiting,
        "down_s": u.down_s,
    }


def _ratios(
    own: Mapping[str, Any], baselines: Mapping[str, DayResult], bounds: Mapping[str, Any]
) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for name, b in baselines.items():
        other = service(b)
        out[name] = {
            "energy": _div(own["delivered_by_departure_kwh"], other["delivered_by_departure_kwh"]),
            "breaks": _div(own["breaks_served"], other["breaks_served"]),
        }
    if bounds.get("computed"):
        out["bound"] = {
            "energy": _div(own["delivered_by_departure_kwh"], bounds.get("energy_kwh")),
            "breaks": _div(own["breaks_served"], bounds.get("breaks_served")),
        }
    return out


def _div(a: float, b: float | None) -> float | None:
    return None if not b else round(a / b, 4)


def _kw(limit_kw: float | None) -> str:
    return "no limit" if limit_kw is None else f"{limit_kw:.0f} kW"


def summary(rep: Mapping[str, Any]) -> str:
    sc, st, ac, sv = rep["scenario"], rep["site"], rep["access"], rep["service"]
    lines = [
        f"scenario {sc['name']}: {sc['site']}, from {sc['start']} "
        f"for {sc['duration_s'] / 3600:g} h",
        f"trucks: {len(rep['trucks'])}; breaks served {sv['breaks_served']}/{sv['breaks_left']}; "
        f"{sv['delivered_by_departure_kwh'] / 1e3:.2f} MWh delivered by departure",
        f"grid: peak {st['peak_import_kw']:.0f} kW of {st['limit_kw']:.0f} kW "
        f"({st['peak_share_of_limit']:.0%}); {st['seconds_above_limit']:g} s above a limit "
        f"({st['seconds_above_unexplained']:g} s unexplained); import "
        f"{st['grid_import_kwh'] / 1e3:.2f} MWh, solar {st['solar_kwh'] / 1e3:.2f} MWh, "
        f"wind {st['wind_kwh'] / 1e3:.2f} MWh offered",
        f"export: peak {st['peak_export_kw']:.0f} kW of {_kw(st['export_limit_kw'])}; "
        f"{st['seconds_above_export_limit']:g} s above it "
        f"({st['seconds_above_export_unexplained']:g} s unexplained); "
        f"curtailed {st['curtailment_kwh'] / 1e3:.2f} MWh",
        f"access: booked {ac['booked_admitted']}/{ac['booked']} admitted "
        f"({ac['booked_admitted_on_time']} on time); ad hoc {ac['ad_hoc_admitted']} admitted, "
        f"{ac['ad_hoc_refused']} refused {ac['refused_by_reason']}; gate queue max "
        f"{ac['max_gate_queue']}",
    ]
    u = rep["uplink"]
    if u is not None:
        lines.append(
            f"uplink: {u['produced']} records, {u['delivered']} delivered, {u['lost']} lost, "
            f"{u['duplicated']} duplicated, {u['waiting_at_end']} waiting (down {u['down_s']:g} s)"
        )
    for name, ratio in rep["ratios"].items():
        lines.append(f"vs {name}: energy x{ratio['energy']}, breaks served x{ratio['breaks']}")
    b = rep["bounds"]
    if not b.get("computed"):
        lines.append(f"bounds not computed: {b.get('reason')}")
    run = rep["run"]
    lines.append(f"run: {run['sim_s']:g} simulated s in {run['wall_s']:g} s")
    return "\n".join(lines)
