"""A schedule as a program: a column per truck and step, the energy (Wh) the truck takes
in it; rows `sum(coef * column) <= rhs`; goals, a truck's columns and the Wh they must add
up to for it to count as served. Built by `edge/power/planner.py` (the controller's plan),
`edge/sim/bounds.py` (a scenario's bounds) and `bench/service_bound.py`; solved by
`edge/schedule_solve.py`. Plain data: no solver here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Row = tuple[dict[int, float], float]  # sum(coef * column) <= rhs


@dataclass(frozen=True, slots=True)
class Program:
    """Each column at most `upper`; `rows`; per break truck a goal: its columns and the Wh
    it must get there to count as served."""

    upper: Sequence[float]
    rows: Sequence[Row]
    goals: Sequence[tuple[Sequence[int], float]]
