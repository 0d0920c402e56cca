"""Upper bounds on a scenario's service with perfect knowledge of the day (scipy HiGHS).

Over the trucks that got a bay in the controller's run and left within it (what the run's
"delivered by departure" counts: a truck still on its bay at the end counts in neither), on
the bays and for the times they had, in steps of `step_s`, the variable is each truck's
energy per step. Every constraint is a relaxation of the plant, so
the optimum is at least what any controller could deliver:

- a truck takes at most its maximum power (its taper and ramp ignored) and at most what it
  wants and what its battery can hold;
- a charger's bays together at most its rating; a limit node's bays at most its import
  limit minus its share of the base load plus, at the root, solar and wind, each taken at
  its most favourable minute of the step (`physics.py`'s curves are exact, the noise is
  bounded by `BASE_NOISE`); the controller's margin and meter faults are not charged;
- energy: a linear program; break trucks fully served (within 1 kWh): the same constraints
  with a binary per break truck that left, a mixed-integer program (time-limited: the
  solver's dual bound, rounded down, when not proven optimal).

Needs scipy (the `[sim]` extra); `compute` says so instead when it is missing.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edge.power.schedule_program import Program, Row
from edge.sim.plant import Plant
from edge.sim.traffic import MET_TOLERANCE_WH, TruckResult
from edge.sim.trucks import TruckSpec
from edge.siteconf.model import SiteConfig

BASE_NOISE = 0.05  # physics.site_load_w's noise is within +-5 % of the load


@dataclass(frozen=True, slots=True)
class Column:
    truck: int
    step: int
    cap_wh: float  # max power times the time on the bay within the step


def compute(
    site: SiteConfig,
    plant: Plant,
    trucks: Sequence[TruckSpec],
    results: Sequence[TruckResult],
    start: float,
    end: float,
    step_s: float = 300.0,
    mip_seconds: float = 30.0,
) -> dict[str, Any]:
    """{"computed", "energy_kwh", "breaks_served", "step_s", ...} or why not computed.
    `plant` is a fresh plant of the scenario (its weather is sampled, never stepped)."""
    if importlib.util.find_spec("scipy") is None:
        return {"computed": False, "reason": "scipy not installed (pip install 'edge-hub[sim]')"}
    specs = {t.id: t for t in trucks}
    # Only trucks that left: the controller's figure counts no other, and leaving the rest
    # out only loosens every row (the bound stays a bound).
    on = [(specs[r.id], r) for r in results if r.bay is not None and r.left and r.id in specs]
    steps = max(1, math.ceil((end - start) / step_s))
    cols = _columns(on, start, end, step_s, steps)
    program = _program(on, cols, _rows(site, plant, on, cols, start, step_s, steps))
    from edge import schedule_solve  # noqa: PLC0415 (scipy only when asked)

    energy_wh = schedule_solve.energy(program)
    served, proven = schedule_solve.breaks_served(program, mip_seconds)
    return {
        "computed": True,
        "energy_kwh": round(energy_wh / 1e3, 3),
        "breaks_served": served,
        "breaks_proven_optimal": proven,
        "step_s": step_s,
        "trucks": len(on),
    }


def _program(
    on: Sequence[tuple[TruckSpec, TruckResult]], cols: Sequence[Column], rows: list[Row]
) -> Program:
    """The rows plus, per truck, at most what it wants and its battery holds; a goal per
    break truck that left: what it wanted, to `MET_TOLERANCE_WH`."""
    per_truck: dict[int, list[int]] = {}
    for j, c in enumerate(cols):
        per_truck.setdefault(c.truck, []).append(j)
    for i, js in per_truck.items():
        spec = on[i][0]
        rows.append(
            (dict.fromkeys(js, 1.0), min(spec.wanted_wh, (1 - spec.soc0) * spec.battery_wh))
        )
    goals = [
        (per_truck.get(i, []), spec.wanted_wh - MET_TOLERANCE_WH)
        for i, (spec, res) in enumerate(on)
        if spec.kind.value == "break" and res.left
    ]
    return Program([c.cap_wh for c in cols], rows, goals)


def _columns(
    on: Sequence[tuple[TruckSpec, TruckResult]],
    start: float,
    end: float,
    step_s: float,
    steps: int,
) -> list[Column]:
    cols = []
    for i, (spec, res) in enumerate(on):
        t0 = max(start, spec.arrive + res.wait_s)
        t1 = min(end, spec.leave)
        for k in range(max(0, int((t0 - start) // step_s)), steps):
            lo, hi = start + k * step_s, start + (k + 1) * step_s
            overlap = min(hi, t1) - max(lo, t0)
            if lo >= t1:
                break
            if overlap > 0:
                cols.append(Column(i, k, spec.max_w * overlap / 3600.0))
    return cols


def _rows(
    site: SiteConfig,
    plant: Plant,
    on: Sequence[tuple[TruckSpec, TruckResult]],
    cols: Sequence[Column],
    start: float,
    step_s: float,
    steps: int,
) -> list[Row]:
    """At most so many Wh together, per charger and limit node per step."""
    charger_of = {b.id: b.charger for b in site.bays}
    rating = {c.id: c.max_power_kw * 1e3 for c in site.chargers}
    nodes_of: dict[str, list[str]] = {b: [] for b in charger_of}
    for node, bays in plant.under.items():
        for b in bays:
            nodes_of[b].append(node)
    headroom = _headroom(site, plant, start, step_s, steps)
    groups: dict[tuple[str, int], list[int]] = {}
    for j, c in enumerate(cols):
        bay = on[c.truck][1].bay
        assert bay is not None
        for key in (f"charger:{charger_of[bay]}", *(f"node:{n}" for n in nodes_of[bay])):
            groups.setdefault((key, c.step), []).append(j)
    h = step_s / 3600.0
    rows: list[Row] = []
    for (key, k), js in groups.items():
        kind, name = key.split(":", 1)
        cap_w = rating[name] if kind == "charger" else headroom[name][k]
        rows.append((dict.fromkeys(js, 1.0), max(0.0, cap_w) * h))
    return rows


def _headroom(
    site: SiteConfig, plant: Plant, start: float, step_s: float, steps: int
) -> dict[str, list[float]]:
    """Per node and step, the most its bays could draw at any minute of the step."""
    out: dict[str, list[float]] = {n.id: [] for n in site.limits}
    minutes = max(1, int(step_s // 60))
    for k in range(steps):
        best = dict.fromkeys(out, -math.inf)
        for m in range(minutes + 1):
            plant.now = start + k * step_s + m * 60.0
            plant._sample()
            for n in site.limits:
                share = plant.node_w(n.id) - plant.node_charging_w(n.id)  # net of generation
                room = n.import_kw * 1e3 - share + BASE_NOISE * plant.base_w
                best[n.id] = max(best[n.id], room)
        for n_id, room in best.items():
            out[n_id].append(room)
    return out
