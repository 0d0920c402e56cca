"""Solves a `schedule_program.Program` with HiGHS through scipy (imported only when asked:
the daemon needs scipy only with `control.plan_every_s` set): the controller's plan
(`edge/power/planner.py`), a scenario's bounds (`edge/sim/bounds.py`) and the bench's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from edge.power.schedule_program import Program, Row


def energy(p: Program) -> float:
    """The most Wh all trucks together could take (a linear program); nan if it failed."""
    n = len(p.upper)
    if n == 0:
        return 0.0
    a, ub = _matrix(p.rows, n)
    res = milp(-np.ones(n), constraints=LinearConstraint(a, -np.inf, ub), bounds=Bounds(0, p.upper))
    return float(-res.fun) if res.success else float("nan")


def breaks_served(p: Program, seconds: float) -> tuple[int, bool]:
    """The most break trucks that could be served, and whether that is proven optimal (if
    not, the solver's dual bound after `seconds`, rounded down: still an upper bound)."""
    if not p.goals:
        return 0, True
    res = _with_goals(p, 0.0, 1.0, None, seconds)
    if res.status == 0:
        return int(-res.fun + 0.5), True
    dual = getattr(res, "mip_dual_bound", None)
    served = int(-dual + 1e-6) if dual is not None and np.isfinite(dual) else len(p.goals)
    return served, False


def energy_serving(p: Program, at_least: int, seconds: float) -> float | None:
    """The most Wh among schedules serving at least `at_least` break trucks (the bound for
    an objective that puts the count first); None if the solver found nothing in time."""
    res = _with_goals(p, 1.0, 0.0, at_least, seconds)
    if res.x is None:
        return None
    # Proven optimal, or else the dual bound: an upper bound either way.
    return float(-res.fun if res.status == 0 else -res.mip_dual_bound)


def best_schedule(
    p: Program, per_wh: Sequence[float], per_break: float, seconds: float
) -> Any | None:
    """The columns of a schedule maximising `sum(per_wh[c] * column c) + per_break * served`
    (the plan weighs earlier steps a little more); None if the solver
    found none in time."""
    res = _with_goals(p, per_wh, per_break, None, seconds)
    return None if res.x is None else res.x[: len(p.upper)]


def _with_goals(
    p: Program,
    per_wh: float | Sequence[float],
    per_break: float,
    at_least: int | None,
    seconds: float,
) -> Any:
    """Maximise `per_wh * energy + per_break * served` with a 0/1 column per goal (1: the
    truck got its Wh), optionally at least `at_least` of them at 1."""
    n, m = len(p.upper), len(p.goals)
    extra: list[Row] = []
    for y, (cols, need_wh) in enumerate(p.goals):  # need * y - energy <= 0
        coefs = dict.fromkeys(cols, -1.0)
        coefs[n + y] = need_wh
        extra.append((coefs, 0.0))
    if at_least is not None:
        extra.append(({n + y: -1.0 for y in range(m)}, -float(at_least)))
    a, ub = _matrix([*p.rows, *extra], n + m)
    return milp(
        np.concatenate([-np.broadcast_to(np.asarray(per_wh, float), (n,)), np.full(m, -per_break)]),
        constraints=LinearConstraint(a, -np.inf, ub),
        integrality=np.concatenate([np.zeros(n), np.ones(m)]),
        bounds=Bounds(np.zeros(n + m), np.concatenate([np.asarray(p.upper), np.ones(m)])),
        options={"time_limit": seconds},
    )


def _matrix(rows: Sequence[Row], n: int) -> tuple[Any, Any]:
    r, c, v = [], [], []
    for k, (coefs, _) in enumerate(rows):
        for col, val in coefs.items():
            r.append(k)
            c.append(col)
            v.append(val)
    return coo_array((v, (r, c)), shape=(len(rows), n)), np.array([rhs for _, rhs in rows])
