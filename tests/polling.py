"""The one polling helper for tests that watch state with no event to await (a daemon's
status, another thread's progress): bounded in time and in count, and failing loudly."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable


async def wait_until(
    predicate: Callable[[], object],
    timeout_s: float = 60.0,
    what: str = "",
    *,
    interval_s: float = 0.02,
) -> None:
    """Check `predicate` every `interval_s` until it holds; AssertionError naming `what`
    after `timeout_s` (or after timeout_s / interval_s checks, whichever comes first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    for _ in range(math.ceil(timeout_s / interval_s) + 1):
        if predicate():
            return
        if loop.time() >= deadline:
            break
        await asyncio.sleep(interval_s)
    raise AssertionError(f"not true within {timeout_s} s: {what or predicate}")
