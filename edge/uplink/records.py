"""Small durable records kept in the outbox's file: command states and key/value state
(bay availability). Each write is its own synchronous=FULL transaction, because a command
is acknowledged to the broker only once its record is on disk."""

from __future__ import annotations

import contextlib
from typing import Any

from edge.uplink.outbox import Outbox
from edge.uplink.outbox_db import StoreError
from edge.uplink.policy import MsgClass


class DurableRecords:
    """Implements the command processor's `CommandStore` on top of the outbox's file.
    While the file cannot be used each call raises the store's error (`StoreError`) with
    the reason, so a command is answered with it rather than left waiting."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox
        self.db = outbox.db

    async def accept(self, stream: str, payload: Any) -> str:
        return await self.outbox.accept(stream, payload)

    async def command_state(self, request_id: str) -> str | None:
        return await self.outbox.thread.run(self.db.command_state, request_id)

    async def record_command(
        self, request_id: str, name: str, state: str, result: str, reply: str | None = None
    ) -> None:
        sql = "INSERT OR REPLACE INTO commands VALUES (?,?,?,?,?,?,0)"
        params = (request_id, name, self.outbox.clock.wall(), state, result, reply)
        await self.outbox.thread.run(self.db.durable_write, sql, params)

    async def mark_replied(self, request_id: str) -> None:
        sql = "UPDATE commands SET replied=1 WHERE request_id=?"
        await self.outbox.thread.run(self.db.durable_write, sql, (request_id,))

    async def unreplied(self) -> list[tuple[str, str, str, str | None]]:
        return await self.outbox.thread.run(self.db.unreplied_commands)

    async def get(self, key: str) -> str | None:
        return await self.outbox.thread.run(self.db.kv_get, key)

    async def put(self, key: str, value: str) -> None:
        sql = "INSERT OR REPLACE INTO kv VALUES (?,?)"
        await self.outbox.thread.run(self.db.durable_write, sql, (key, value))


async def buffer_stats(outbox: Outbox) -> dict[str, Any]:
    """The outbox as `edge buffer` and the `telemetry/buffer` stream show it."""
    oldest: dict[MsgClass, float] = {}
    if outbox.ready.is_set():
        with contextlib.suppress(StoreError):
            oldest = await outbox.thread.run(outbox.db.oldest_created)
    now = outbox.clock.wall()
    u = outbox.usage
    return {
        "depth": {c.label: n for c, n in outbox.counts.items()},
        "bytes": {"event": u.event_bytes, "state": u.state_bytes, "telemetry": u.telemetry_bytes},
        "oldest_age_s": {c.label: round(now - t, 1) for c, t in oldest.items()},
        "budget_bytes": outbox.settings.budget.total_bytes,
        "event_reserve_bytes": outbox.settings.budget.event_reserve_bytes,
        "disk_bytes": outbox.db.file_bytes(),
        "pending": outbox.pending,
        "spill": outbox.spilled,
        "fault": outbox.fault,
        "counters": dict(outbox.counters),
    }
