"""Small durable records kept in the outbox's file: command states (the `kv` table is only
read once, by the legacy availability import). Each write is its own synchronous=FULL
transaction, because a command is acknowledged to the broker only once its record is on
disk."""

from __future__ import annotations

import contextlib
from typing import Any

from edge.uplink.outbox import Outbox
from edge.uplink.outbox_db import OutboxDb
from edge.uplink.policy import MsgClass
from edge.uplink.store_errors import StoreError


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
        return await self.outbox.thread.run(command_state, self.db, request_id)

    async def record_commands(self, rows: list[tuple[str, str, str, str, str | None]]) -> None:
        """Many (request id, name, state, result, reply) in one FULL transaction."""
        wall = self.outbox.clock.wall()
        values = ",".join(["(?,?,?,?,?,?,0)"] * len(rows))
        params = tuple(v for r in rows for v in (r[0], r[1], wall, r[2], r[3], r[4]))
        sql = f"INSERT OR REPLACE INTO commands VALUES {values}"  # noqa: S608 (placeholders)
        await self.outbox.thread.run(durable_write, self.db, sql, params)

    async def mark_all_replied(self, request_ids: list[str]) -> None:
        marks = ",".join("?" * len(request_ids))
        sql = f"UPDATE commands SET replied=1 WHERE request_id IN ({marks})"  # noqa: S608
        await self.outbox.thread.run(durable_write, self.db, sql, tuple(request_ids))

    async def unreplied(self) -> list[tuple[str, str, str, str | None]]:
        return await self.outbox.thread.run(unreplied_commands, self.db)


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


# --- SQL, run on the store thread -------------------------------------------------------------
def durable_write(db: OutboxDb, sql: str, params: tuple[object, ...]) -> None:
    """One statement in its own FULL transaction."""
    with db.transaction("durable write", durable=True):
        db.db.execute(sql, params)


def command_state(db: OutboxDb, request_id: str) -> str | None:
    with db.errors("read"):
        row = db.db.execute("SELECT state FROM commands WHERE request_id=?", (request_id,))
        found = row.fetchone()
    return None if found is None else str(found[0])


def unreplied_commands(db: OutboxDb) -> list[tuple[str, str, str, str | None]]:
    """Commands recorded but whose reply may not be in the outbox (a kill came between)."""
    sql = "SELECT request_id, name, state, reply FROM commands WHERE replied=0 ORDER BY received"
    with db.errors("read"):
        rows = db.db.execute(sql).fetchall()
    return [(str(a), str(b), str(c), None if d is None else str(d)) for a, b, c, d in rows]
