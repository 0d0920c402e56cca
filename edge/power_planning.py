"""The controller's plan (`edge/power/planner.py`), made beside the control loop when
`control.plan_every_s` is set.

A solve takes from milliseconds to seconds, longer than a control period may wait, so in the
daemon it runs in a worker thread on the period's inputs (frozen plain data); the periods
that follow use the newest plan while it is younger than two plan intervals. A new plan is
started every `plan_every_s`, and at once when a truck arrives or leaves. A plan that fails
or comes late leaves `allocate` on its own: the plan only says which trucks come first and
how much each gets, and `allocate` keeps every limit as it does without one. In virtual
time (`edge/sim`) the plan is made in line, so a simulated day stays deterministic.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import Future

from edge.power.allocation_model import AllocationInputs
from edge.power.planner import Plan, PlanSettings, Solver, make_plan
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)

FRESH_FOR_PLANS = 2.0  # a plan is used while younger than this many plan intervals


def settings_of(config: SiteConfig) -> PlanSettings:
    return PlanSettings(taper_from_pct=config.sessions.taper_from_pct)


def default_solver() -> Solver:
    """HiGHS through scipy, imported only here: the daemon needs scipy only with a plan
    (the config check refuses `control.plan_every_s` without it)."""
    from edge import schedule_solve  # noqa: PLC0415

    return schedule_solve.best_schedule


def plan_worker(config: SiteConfig) -> PlanWorker | None:
    """The daemon's plan worker, None when the site file sets no `control.plan_every_s`."""
    every_s = config.control.plan_every_s
    if every_s <= 0:
        return None
    return PlanWorker(settings_of(config), every_s, default_solver())


class PlanWorker:
    def __init__(
        self, settings: PlanSettings, every_s: float, solve: Solver, *, inline: bool = False
    ) -> None:
        self.settings = settings
        self.every_s = every_s
        self._solve = solve
        self._inline = inline
        self.plan: Plan | None = None
        self.failures = 0
        self._running: asyncio.Future[Plan | None] | Future[Plan | None] | None = None
        self._started_at: float | None = None
        self._planned_for: tuple[tuple[str, float], ...] = ()  # the sessions it was made for

    def power_w(self, inputs: AllocationInputs, now: float) -> Mapping[str, float] | None:
        """The plan's power per bay for this period (None: no plan young enough), after
        starting a new plan if one is due."""
        self._collect()
        sessions = _sessions(inputs)
        if self._running is None and self._due(sessions, now):
            self._start(inputs, now, sessions)
        plan = self.plan
        if plan is None or not 0.0 <= now - plan.made_at <= FRESH_FOR_PLANS * self.every_s:
            return None
        return plan.power_w

    def _due(self, sessions: tuple[tuple[str, float], ...], now: float) -> bool:
        if self._started_at is None or sessions != self._planned_for:
            return True
        return not 0.0 <= now - self._started_at < self.every_s

    def _start(
        self, inputs: AllocationInputs, now: float, sessions: tuple[tuple[str, float], ...]
    ) -> None:
        self._started_at, self._planned_for = now, sessions
        keep = self.plan.served if self.plan is not None else frozenset()
        if self._inline:
            future: Future[Plan | None] = Future()
            try:
                future.set_result(make_plan(inputs, now, self.settings, self._solve, keep))
            except Exception as exc:  # as from the worker thread: kept for `_collect`
                future.set_exception(exc)
            self._running = future
            self._collect()
            return
        loop = asyncio.get_running_loop()
        self._running = loop.run_in_executor(
            None, make_plan, inputs, now, self.settings, self._solve, keep
        )

    def _collect(self) -> None:
        running = self._running
        if running is None or not running.done():
            return
        self._running = None
        try:
            plan = running.result()
        except Exception as exc:  # a solver bug must not stop the control loop
            self.failures += 1
            log.warning("plan_failed why=%r", str(exc))
            return
        if plan is None:
            self.failures += 1
            log.warning("plan_failed why=%r", "no schedule within the solver's time limit")
            return
        self.plan = plan


def _sessions(inputs: AllocationInputs) -> tuple[tuple[str, float], ...]:
    """Who is on the bays (bay, session start): a new plan at once when that changes."""
    return tuple((b.bay, b.session.start) for b in inputs.bay_inputs if b.session is not None)
