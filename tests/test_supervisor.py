"""Failed tasks restart with backoff; a failed vital task stops the daemon."""

from __future__ import annotations

import asyncio

from edge.clock import SimClock
from edge.supervisor import Supervisor


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_failing_task_is_restarted_with_growing_backoff() -> None:
    clock = SimClock()
    sup = Supervisor(clock, first_backoff_s=1.0, max_backoff_s=4.0)
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(clock.monotonic())
        raise RuntimeError("boom")

    sup.start("flaky", flaky)
    for _ in range(4):
        await settle()
        clock.advance_to_next()
    await settle()
    assert runs == [0.0, 1.0, 3.0, 7.0, 11.0]  # backoff 1, 2, 4, then capped at 4 s
    state = sup.tasks["flaky"]
    assert state.restarts == 5
    assert state.last_error == "RuntimeError: boom"
    assert not sup.failed.is_set()
    await sup.stop()


async def test_vital_failure_sets_failed_and_names_the_task() -> None:
    sup = Supervisor(SimClock())

    async def control() -> None:
        raise ValueError("cannot run")

    sup.start("control", control, vital=True)
    await asyncio.wait_for(sup.failed.wait(), timeout=2)
    assert sup.failed_task == "control"
    await sup.stop()


async def test_stop_cancels_running_tasks() -> None:
    sup = Supervisor(SimClock())
    sup.start("forever", lambda: asyncio.Event().wait())
    await settle()
    await sup.stop(timeout_s=1.0)
    task = sup.tasks["forever"].task
    assert task is not None
    assert task.done()
