"""Keeping the outbox within its budget: relief (downsample, then evict), TTL, and the
disk-full emergency. The decisions are the pure functions in `policy`; this applies them
through a small store port and raises or clears the alarms (with hysteresis, so they do
not flap)."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from edge.clock import Clock
from edge.uplink.alarms import Alarms
from edge.uplink.policy import (
    Budget,
    StoredRow,
    Usage,
    events_over_budget,
    relief_plan,
    telemetry_excess,
    ttl_cutoff,
)

BUDGET_ALARM_QUIET_S = 600.0  # the budget alarm clears after this long without relief
TTL_EVERY_S = 60.0


class TrimsTelemetry(Protocol):
    """What upkeep needs of a store: its usage, its oldest telemetry, deleting rows."""

    @property
    def usage(self) -> Usage: ...

    async def oldest_telemetry(self, limit: int) -> list[StoredRow]: ...

    async def remove(self, ids: list[int]) -> int:
        """Delete rows by id; how many existed. Raises the store's error when it cannot."""
        ...


class Upkeep:
    def __init__(
        self,
        budget: Budget,
        *,
        clock: Clock,
        alarms: Alarms,
        counters: Counter[str],
        relief_rows: int = 5_000,
        telemetry_ttl_s: float | None = None,
    ) -> None:
        self.budget, self.clock, self.alarms, self.counters = budget, clock, alarms, counters
        self.relief_rows = relief_rows
        self.ttl_s = telemetry_ttl_s
        self.last_relief = clock.monotonic() - BUDGET_ALARM_QUIET_S
        self.last_ttl = 0.0

    async def keep_budget(self, store: TrimsTelemetry) -> None:
        """After each group commit: thin or evict telemetry above its allowance."""
        excess = telemetry_excess(store.usage, self.budget)
        if excess > 0:
            plan = relief_plan(await store.oldest_telemetry(self.relief_rows), excess)
            await store.remove(list(plan.ids))
            self.counters["downsampled"] += len(plan.downsampled)
            self.counters["evicted"] += len(plan.evicted)
            if plan.ids:
                self.last_relief = self.clock.monotonic()
                what = "evicted" if plan.evicted else "downsampled"
                self.alarms.raise_("buffer_budget", f"budget reached: telemetry {what}")
        elif self.clock.monotonic() - self.last_relief > BUDGET_ALARM_QUIET_S:
            self.alarms.clear("buffer_budget")  # quiet for a while: not flapping per commit
        if events_over_budget(store.usage, self.budget):
            self.alarms.raise_("buffer_events_over_budget", "events alone exceed the budget")
        else:
            self.alarms.clear("buffer_events_over_budget")

    async def expire(self, store: TrimsTelemetry) -> None:
        """Telemetry past its TTL goes (never while the clock is unset)."""
        now = self.clock.wall()
        cutoff = ttl_cutoff(now, self.ttl_s)
        if cutoff is None or now - self.last_ttl < TTL_EVERY_S:
            return
        self.last_ttl = now
        rows = await store.oldest_telemetry(self.relief_rows)
        old = [r.id for r in rows if r.created < cutoff]
        if old:
            self.counters["expired"] += await store.remove(old)

    async def emergency_relief(self, store: TrimsTelemetry) -> bool:
        """Disk full: free room by evicting the oldest telemetry, whatever the budget says.
        False when there is none, or when the disk is too full even to delete."""
        rows = await store.oldest_telemetry(self.relief_rows)
        if not rows:
            return False
        self.counters["evicted"] += await store.remove([r.id for r in rows])
        return True
