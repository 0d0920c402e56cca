"""Small durable records kept in the outbox's file: command states and key/value state
(bay availability). Each write is its own synchronous=FULL transaction, because a command
is acknowledged to the broker only once its record is on disk."""

from __future__ import annotations

from typing import Any

from edge.uplink.outbox import Outbox


class DurableRecords:
    """Implements the command processor's `CommandStore` on top of an open outbox."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def accept(self, stream: str, payload: Any) -> str:
        return await self.outbox.accept(stream, payload)

    async def command_state(self, request_id: str) -> str | None:
        async with self.outbox.lock:
            return await self.outbox.db.command_state(request_id)

    async def record_command(
        self, request_id: str, name: str, state: str, result: str, reply: str | None = None
    ) -> None:
        sql = "INSERT OR REPLACE INTO commands VALUES (?,?,?,?,?,?,0)"
        params = (request_id, name, self.outbox.wall(), state, result, reply)
        async with self.outbox.lock:
            await self.outbox.db.durable_write(sql, params)

    async def record_commands(self, rows: list[tuple[str, str, str, str, str | None]]) -> None:
        """Many (request id, name, state, result, reply) in one FULL transaction."""
        wall = self.outbox.wall()
        values = ",".join(["(?,?,?,?,?,?,0)"] * len(rows))
        params = [v for r in rows for v in (r[0], r[1], wall, r[2], r[3], r[4])]
        async with self.outbox.lock:
            await self.outbox.db.durable_write(
                f"INSERT OR REPLACE INTO commands VALUES {values}",  # noqa: S608 (placeholders)
                tuple(params),
            )

    async def mark_all_replied(self, request_ids: list[str]) -> None:
        marks = ",".join("?" * len(request_ids))
        async with self.outbox.lock:
            await self.outbox.db.durable_write(
                f"UPDATE commands SET replied=1 WHERE request_id IN ({marks})",  # noqa: S608
                tuple(request_ids),
            )

    async def mark_replied(self, request_id: str) -> None:
        async with self.outbox.lock:
            await self.outbox.db.durable_write(
                "UPDATE commands SET replied=1 WHERE request_id=?", (request_id,)
            )

    async def unreplied(self) -> list[tuple[str, str, str, str | None]]:
        async with self.outbox.lock:
            return await self.outbox.db.unreplied_commands()

    async def get(self, key: str) -> str | None:
        async with self.outbox.lock:
            return await self.outbox.db.kv_get(key)

    async def put(self, key: str, value: str) -> None:
        async with self.outbox.lock:
            await self.outbox.db.durable_write(
                "INSERT OR REPLACE INTO kv VALUES (?,?)", (key, value)
            )


async def buffer_stats(outbox: Outbox) -> dict[str, Any]:
    """The outbox as `edge buffer` and the `telemetry/buffer` stream show it."""
    oldest = {}
    if outbox.ready.is_set():
        async with outbox.lock:
            oldest = await outbox.db.oldest_created()
    now = outbox.wall()
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
        "counters": dict(outbox.counters),
    }
