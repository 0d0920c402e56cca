"""The bounds' linear and mixed-integer programs (scipy HiGHS; imported only when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

if TYPE_CHECKING:
    from edge.sim.bounds import Column
    from edge.sim.traffic import TruckResult
    from edge.sim.trucks import TruckSpec


def solve(
    on: Sequence[tuple[TruckSpec, TruckResult]],
    cols: Sequence[Column],
    rows: Sequence[tuple[list[int], float]],
    mip_seconds: float,
    met_tolerance_wh: float,
) -> tuple[float, int, bool]:
    """(energy bound Wh, break trucks fully served bound, whether that count is proven)."""
    n = len(cols)
    if n == 0:
        return 0.0, 0, True
    per_truck: dict[int, list[int]] = {}
    for j, c in enumerate(cols):
        per_truck.setdefault(c.truck, []).append(j)
    entries = [(js, cap) for js, cap in rows]
    for i, js in per_truck.items():
        spec = on[i][0]
        entries.append((js, min(spec.wanted_wh, (1.0 - spec.soc0) * spec.battery_wh)))
    upper = np.array([c.cap_wh for c in cols])
    base = [(dict.fromkeys(js, 1.0), cap) for js, cap in entries]
    a, ub = _matrix(base, n)
    lp = milp(-np.ones(n), constraints=LinearConstraint(a, -np.inf, ub), bounds=Bounds(0, upper))
    energy = float(-lp.fun) if lp.success else float("nan")
    breaks = [i for i, (spec, res) in enumerate(on) if spec.kind.value == "break" and res.left]
    served, proven = _breaks(on, per_truck, base, upper, breaks, mip_seconds, met_tolerance_wh)
    return energy, served, proven


def _breaks(
    on: Sequence[tuple[TruckSpec, TruckResult]],
    per_truck: dict[int, list[int]],
    base: list[tuple[dict[int, float], float]],
    upper: Any,
    breaks: list[int],
    mip_seconds: float,
    met_tolerance_wh: float,
) -> tuple[int, bool]:
    """The most break trucks that could leave within `met_tolerance_wh` of what they wanted."""
    n = len(upper)
    extra = []
    for y, i in enumerate(breaks):  # (wanted - tolerance) * y_i - energy_i <= 0
        coefs = dict.fromkeys(per_truck.get(i, []), -1.0)
        coefs[n + y] = on[i][0].wanted_wh - met_tolerance_wh
        extra.append((coefs, 0.0))
    a, ub = _matrix(base + extra, n + len(breaks))
    res = milp(
        np.concatenate([np.zeros(n), -np.ones(len(breaks))]),
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=np.concatenate([np.zeros(n), np.ones(len(breaks))]),
        bounds=Bounds(np.zeros(n + len(breaks)), np.concatenate([upper, np.ones(len(breaks))])),
        options={"time_limit": mip_seconds},
    )
    if res.status == 0:
        return int(-res.fun + 0.5), True
    dual = getattr(res, "mip_dual_bound", None)  # an upper bound on the count, unproven
    served = int(-dual + 1e-6) if dual is not None and np.isfinite(dual) else len(breaks)
    return served, False


def _matrix(rows: Sequence[tuple[dict[int, float], float]], n: int) -> tuple[Any, Any]:
    r, c, v = [], [], []
    for k, (coefs, _) in enumerate(rows):
        for col, val in coefs.items():
            r.append(k)
            c.append(col)
            v.append(val)
    return coo_array((v, (r, c)), shape=(len(rows), n)), np.array([rhs for _, rhs in rows])
