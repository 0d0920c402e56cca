"""A link's waiting requests: lowest priority number first, first come first served within
a priority, for one consumer (the link's worker).

asyncio.PriorityQueue does the same with what one consumer does not need (bounded size,
waiting producers, task_done accounting); on a link this sits on every request's path.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Generic, TypeVar

T = TypeVar("T")


class RequestQueue(Generic[T]):
    def __init__(self) -> None:
        self._heap: list[tuple[int, int, T]] = []
        self._seq = itertools.count()  # keeps arrival order within a priority
        self._waiter: asyncio.Future[None] | None = None  # the consumer, while it waits

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, priority: int, item: T) -> None:
        """Never blocks and never drops: a link holds at most one request per poll task."""
        heapq.heappush(self._heap, (priority, next(self._seq), item))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def pop(self) -> T:
        """The next item, waiting for one if there is none."""
        while not self._heap:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return heapq.heappop(self._heap)[2]

    def pop_nowait(self) -> T | None:
        return heapq.heappop(self._heap)[2] if self._heap else None
