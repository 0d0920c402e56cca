"""Named, supervised long-lived tasks.

A task that fails is logged with its traceback and restarted with backoff; a *vital* task
that fails stops the daemon with a non-zero exit so systemd restarts the whole process (a
control loop that cannot run must not leave a half-alive daemon kicking the watchdog).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from edge.clock import Clock

log = logging.getLogger(__name__)


class VitalTaskFailed(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"vital task {name} failed")
        self.name = name


@dataclass(slots=True)
class TaskState:
    name: str
    vital: bool
    restarts: int = 0
    last_error: str = ""
    running: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Supervisor:
    def __init__(
        self, clock: Clock, *, first_backoff_s: float = 0.5, max_backoff_s: float = 30.0
    ) -> None:
        self._clock = clock
        self._first = first_backoff_s
        self._max = max_backoff_s
        self.tasks: dict[str, TaskState] = {}
        self.failed = asyncio.Event()
        self.failed_task: str | None = None

    def start(self, name: str, run: Callable[[], Awaitable[None]], *, vital: bool = False) -> None:
        if name in self.tasks:
            raise ValueError(f"task {name} already started")
        state = TaskState(name, vital)
        state.task = asyncio.create_task(self._keep(state, run), name=name)
        self.tasks[name] = state

    async def _keep(self, state: TaskState, run: Callable[[], Awaitable[None]]) -> None:
        backoff = self._first
        while True:
            state.running = True
            started = self._clock.monotonic()
            try:
                await run()
                log.warning("task_returned task=%s", state.name)
                state.last_error = "returned"
            except asyncio.CancelledError:
                state.running = False
                raise
            except Exception as exc:
                state.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("task_failed task=%s vital=%s error=%s", state.name, state.vital, exc)
            state.running = False
            if state.vital:
                self.failed_task = state.name
                self.failed.set()
                return
            if self._clock.monotonic() - started > 60.0:
                backoff = self._first  # it ran well for a while: start backoff afresh
            state.restarts += 1
            log.info(
                "task_restart task=%s in_s=%.1f restarts=%d", state.name, backoff, state.restarts
            )
            await self._clock.sleep(backoff)
            backoff = min(self._max, backoff * 2)

    async def stop(self, timeout_s: float = 2.0) -> None:
        """Cancel every task and wait (bounded) for them to finish."""
        tasks = [s.task for s in self.tasks.values() if s.task is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "task": s.name,
                "vital": s.vital,
                "running": s.running,
                "restarts": s.restarts,
                "last_error": s.last_error,
            }
            for s in self.tasks.values()
        ]
