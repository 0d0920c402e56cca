"""Figures about the daemon itself for `edge status`: how long control cycles take (p50, p99
over a window) and how much CPU the process uses (its CPU time over wall time)."""

from __future__ import annotations

import time
from collections import deque

WINDOW = 600  # cycles (10 min at 1 s) for the percentiles; CPU over the last minute of samples


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted, non-empty list."""
    rank = max(0, min(len(sorted_values) - 1, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


class CycleTimes:
    def __init__(self, window: int = WINDOW) -> None:
        self._durations: deque[float] = deque(maxlen=window)

    def add(self, duration_s: float) -> None:
        self._durations.append(duration_s)

    def summary(self) -> dict[str, float | int | None]:
        if not self._durations:
            return {"cycle_p50_ms": None, "cycle_p99_ms": None, "cycle_max_ms": None, "window": 0}
        ordered = sorted(self._durations)
        return {
            "cycle_p50_ms": round(percentile(ordered, 0.50) * 1000, 3),
            "cycle_p99_ms": round(percentile(ordered, 0.99) * 1000, 3),
            "cycle_max_ms": round(ordered[-1] * 1000, 3),
            "window": len(ordered),
        }


class CpuMeter:
    """Process CPU time (all threads) per wall second, over the last `window_s`."""

    def __init__(self, window_s: float = 60.0) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()

    def sample(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, time.process_time()))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self._window_s:
            self._samples.popleft()

    def percent(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
        return round(100.0 * (c1 - c0) / (t1 - t0), 2) if t1 > t0 else None
