"""Keeping the outbox within its budget: relief (downsample, then evict), TTL, and the
disk-full emergency. The decisions are the pure functions in `policy`; this applies them
to the file and raises or clears the alarms (with hysteresis, so they do not flap)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from edge.uplink.policy import events_over_budget, relief_plan, telemetry_excess, ttl_cutoff

if TYPE_CHECKING:
    from edge.uplink.outbox import Outbox

BUDGET_ALARM_QUIET_S = 600.0  # the budget alarm clears after this long without relief
TTL_EVERY_S = 60.0


class Upkeep:
    def __init__(self) -> None:
        self.last_relief = -BUDGET_ALARM_QUIET_S
        self.last_ttl = 0.0

    async def keep_budget(self, box: Outbox) -> None:
        """Called under the outbox lock after each group commit."""
        budget = box.settings.budget
        excess = telemetry_excess(box.usage, budget)
        if excess > 0:
            rows = await box.db.oldest_telemetry(box.settings.relief_rows)
            plan = relief_plan(rows, excess)
            box.removed(await box.db.delete(plan.ids))
            box.counters["downsampled"] += len(plan.downsampled)
            box.counters["evicted"] += len(plan.evicted)
            if plan.ids:
                self.last_relief = time.monotonic()
                what = "evicted" if plan.evicted else "downsampled"
                box.alarms.raise_("buffer_budget", f"budget reached: telemetry {what}")
        elif time.monotonic() - self.last_relief > BUDGET_ALARM_QUIET_S:
            box.alarms.clear("buffer_budget")  # quiet for a while: not flapping per commit
        if events_over_budget(box.usage, budget):
            box.alarms.raise_("buffer_events_over_budget", "events alone exceed the budget")
        else:
            box.alarms.clear("buffer_events_over_budget")

    async def expire(self, box: Outbox) -> None:
        """Telemetry past its TTL goes (never while the clock is unset)."""
        now = box.wall()
        cutoff = ttl_cutoff(now, box.settings.telemetry_ttl_s)
        if cutoff is None or now - self.last_ttl < TTL_EVERY_S:
            return
        self.last_ttl = now
        rows = await box.db.oldest_telemetry(box.settings.relief_rows)
        old = [r.id for r in rows if r.created < cutoff]
        if old:
            box.removed(await box.db.delete(old))
            box.counters["expired"] += len(old)

    async def emergency_relief(self, box: Outbox) -> bool:
        """Disk full: free room by evicting the oldest telemetry, whatever the budget says."""
        rows = await box.db.oldest_telemetry(box.settings.relief_rows)
        if not rows:
            return False
        box.removed(await box.db.delete(r.id for r in rows))
        box.counters["evicted"] += len(rows)
        return True
