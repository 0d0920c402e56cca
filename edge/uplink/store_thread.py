"""One thread that owns the outbox's SQLite connection; the event loop hands it whole
transactions.

A transaction is one call (`run(fn, ...)`), so a durable accept costs one hand-over to the
thread and one back, not one per statement. The thread is a daemon thread: a process
asked to stop is never kept alive by it, even when a call is stuck on a full or broken
disk (SQLite's journal keeps the file consistent whatever point it is stopped at).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class StoreThread:
    def __init__(self, name: str = "outbox-db") -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on the thread; its result or exception here."""
        if not self._thread.is_alive():
            raise RuntimeError("outbox: store thread stopped (store_thread)")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((lambda: fn(*args), loop, fut))
        return await fut

    def stop(self) -> None:
        """Finish the queued calls, then end (the thread is not waited for)."""
        self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, loop, fut = job
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting task, which decides
                _hand(loop, fut, None, exc)
            else:
                _hand(loop, fut, result, None)


def _hand(
    loop: asyncio.AbstractEventLoop,
    fut: asyncio.Future[Any],
    result: Any,
    exc: BaseException | None,
) -> None:
    def settle() -> None:
        if fut.done():  # the awaiting task was cancelled (shutdown): nobody to tell
            return
        if exc is None:
            fut.set_result(result)
        else:
            fut.set_exception(exc)

    with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
        loop.call_soon_threadsafe(settle)
