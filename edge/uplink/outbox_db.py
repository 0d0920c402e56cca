"""The outbox's SQLite file, behind aiosqlite: the only module that touches the database.

WAL journal; one writer connection used by one task at a time. `synchronous` is switched
per transaction: FULL when the transaction holds an event (it must survive a power cut
once `accept` returns), NORMAL otherwise (telemetry and deletes may roll back on a power
cut, which costs at most a re-send or a lost telemetry window, never an event).
A file SQLite calls corrupt is renamed aside (quarantined) and its readable rows salvaged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from edge.uplink.policy import MsgClass, StoredRow, Usage

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the drain reads by id cursor
    stream TEXT NOT NULL, seq INTEGER NOT NULL, cls INTEGER NOT NULL,
    created REAL NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_cls ON outbox(cls, id);
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox(stream, id);  -- per-stream reading
CREATE TABLE IF NOT EXISTS streams(stream TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead(id INTEGER PRIMARY KEY, stream TEXT, body TEXT, why TEXT);
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands(
    request_id TEXT PRIMARY KEY, name TEXT NOT NULL, received REAL NOT NULL,
    state TEXT NOT NULL, result TEXT, reply TEXT, replied INTEGER NOT NULL DEFAULT 0);
"""
CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
FULL_CODES = {13}  # SQLITE_FULL


class StoreCorrupt(Exception):
    pass


class StoreFull(Exception):
    pass


@dataclass(frozen=True, slots=True)
class OutRow:
    id: int
    stream: str
    cls: MsgClass
    size: int
    body: str
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class NewRow:
    stream: str
    seq: int
    cls: MsgClass
    created: float
    body: str

    @property
    def size(self) -> int:
        return len(self.body)


def next_seqs(rows: Sequence[NewRow]) -> dict[str, int]:
    """Each stream's next sequence number after `rows`."""
    seqs: dict[str, int] = {}
    for r in rows:
        seqs[r.stream] = max(seqs.get(r.stream, 0), r.seq + 1)
    return seqs


def translate(exc: sqlite3.Error, where: str) -> Exception:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in CORRUPT_CODES:
        return StoreCorrupt(f"outbox: database corrupt: {exc} ({where})")
    if code is not None and code & 0xFF in FULL_CODES:
        return StoreFull(f"outbox: disk or page budget full: {exc} ({where})")
    return exc


class OutboxDb:
    def __init__(self, path: Path, *, max_pages: int | None = None) -> None:
        self.path = path
        self._max_pages = max_pages  # tests emulate a full disk with SQLite's page cap
        self._db: aiosqlite.Connection | None = None
        self._sync = ""

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("outbox: database not open (outbox_db)")
        return self._db

    async def open(self) -> None:
        """Open (creating) the file; raises StoreCorrupt when SQLite cannot read it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.executescript(SCHEMA)
            if self._max_pages:
                await self._db.execute(f"PRAGMA max_page_count={int(self._max_pages)}")
            async with self._db.execute("PRAGMA quick_check") as cur:
                verdict = await cur.fetchone()
        except sqlite3.Error as exc:
            await self.close()
            raise translate(exc, f"open {self.path}") from exc
        if verdict is None or verdict[0] != "ok":
            await self.close()
            raise StoreCorrupt(f"outbox: integrity check failed: {verdict} ({self.path})")
        self._sync = ""

    async def close(self) -> None:
        if self._db is not None:
            try:
                await self._db.close()
            except sqlite3.Error:
                log.warning("outbox_close_failed path=%s", self.path)
            self._db = None

    async def quarantine(self, stamp: str) -> Path:
        """Move the file (and its WAL) aside; the caller opens a fresh one."""
        await self.close()
        return move_aside(self.path, stamp)

    async def replace_and_salvage(self, stamp: str) -> tuple[Path, list[NewRow]]:
        """Quarantine the file, open a fresh one and replay the readable rows into it."""
        target = await self.quarantine(stamp)
        rows = await salvage(target)
        await self.open()
        if rows:
            await self.commit(rows, next_seqs(rows), durable=True)
        return target, rows

    async def load(self) -> tuple[dict[str, int], Usage, dict[MsgClass, int]]:
        """Next seq per stream, bytes per class, rows per class."""
        seqs: dict[str, int] = {}
        async with self.db.execute("SELECT stream, next_seq FROM streams") as cur:
            seqs = {str(s): int(n) async for s, n in cur}
        by: dict[int, tuple[int, int]] = {}
        sql = "SELECT cls, count(*), coalesce(sum(size), 0) FROM outbox GROUP BY cls"
        async with self.db.execute(sql) as cur:
            async for cls, n, size in cur:
                by[int(cls)] = (int(n), int(size))
        usage = Usage(*(by.get(c, (0, 0))[1] for c in MsgClass))
        return seqs, usage, {c: by.get(c, (0, 0))[0] for c in MsgClass}

    async def commit(
        self, rows: Sequence[NewRow], seqs: dict[str, int], *, durable: bool
    ) -> list[tuple[int, int]]:
        """Insert rows and stream counters in one transaction. Returns (cls, size) of state
        rows superseded by newer ones of the same stream."""
        sync = "FULL" if durable else "NORMAL"
        try:
            if sync != self._sync:
                await self.db.execute(f"PRAGMA synchronous={sync}")
                self._sync = sync
            await self.db.execute("BEGIN IMMEDIATE")
            gone = await self._supersede(rows)
            await self.db.executemany(
                "INSERT INTO outbox(stream, seq, cls, created, size, body) VALUES (?,?,?,?,?,?)",
                [(r.stream, r.seq, int(r.cls), r.created, r.size, r.body) for r in rows],
            )
            await self.db.executemany(
                "INSERT OR REPLACE INTO streams(stream, next_seq) VALUES (?, ?)", seqs.items()
            )
            await self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            await self._rollback()
            raise translate(exc, "commit") from exc
        return gone

    async def _supersede(self, rows: Sequence[NewRow]) -> list[tuple[int, int]]:
        streams = sorted({r.stream for r in rows if r.cls is MsgClass.STATE})
        if not streams:
            return []
        sql = (
            "DELETE FROM outbox WHERE cls=1 AND stream IN (SELECT value FROM json_each(?)) "
            "RETURNING cls, size"
        )
        async with self.db.execute(sql, (json.dumps(streams),)) as cur:
            return [(int(c), int(s)) async for c, s in cur]

    async def _rollback(self) -> None:
        with contextlib.suppress(sqlite3.Error):  # no transaction was open
            await self.db.execute("ROLLBACK")

    async def delete(self, ids: Iterable[int]) -> list[tuple[int, int]]:
        """Delete rows by id (auto-commit, NORMAL); returns (cls, size) of rows that existed."""
        sql = "DELETE FROM outbox WHERE id IN (SELECT value FROM json_each(?)) RETURNING cls, size"
        try:
            async with self.db.execute(sql, (json.dumps(list(ids)),)) as cur:
                return [(int(c), int(s)) async for c, s in cur]
        except sqlite3.Error as exc:
            raise translate(exc, "delete") from exc

    async def read(self, cls: MsgClass, after_id: int, limit: int) -> list[OutRow]:
        sql = (
            "SELECT id, stream, size, body, created FROM outbox WHERE cls=? AND id>? "
            "ORDER BY id LIMIT ?"
        )
        try:
            async with self.db.execute(sql, (int(cls), after_id, limit)) as cur:
                rows = await cur.fetchall()
            return [OutRow(int(i), str(s), cls, int(z), str(b), float(c)) for i, s, z, b, c in rows]
        except sqlite3.Error as exc:
            raise translate(exc, "read") from exc

    async def read_stream(self, stream: str, after_id: int, limit: int) -> list[OutRow]:
        sql = (
            "SELECT id, cls, size, body, created FROM outbox WHERE stream=? AND id>? "
            "ORDER BY id LIMIT ?"
        )
        try:
            async with self.db.execute(sql, (stream, after_id, limit)) as cur:
                rows = await cur.fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, "read") from exc
        return [
            OutRow(int(i), stream, MsgClass(int(c)), int(z), str(b), float(t))
            for i, c, z, b, t in rows
        ]

    async def stream_names(self) -> list[str]:
        async with self.db.execute("SELECT stream FROM streams") as cur:
            return [str(s) async for (s,) in cur]

    async def oldest_telemetry(self, limit: int) -> list[StoredRow]:
        sql = "SELECT id, stream, created, size FROM outbox WHERE cls=2 ORDER BY id LIMIT ?"
        async with self.db.execute(sql, (limit,)) as cur:
            return [StoredRow(int(i), str(s), float(c), int(z)) async for i, s, c, z in cur]

    async def oldest_created(self) -> dict[MsgClass, float]:
        out: dict[MsgClass, float] = {}
        for cls in MsgClass:
            sql = "SELECT created FROM outbox WHERE cls=? ORDER BY id LIMIT 1"
            async with self.db.execute(sql, (int(cls),)) as cur:
                row = await cur.fetchone()
            if row is not None:
                out[cls] = float(row[0])
        return out

    async def dead_letter(self, row: OutRow, why: str) -> bool:
        """Move a row to the dead-letter table; False if it was no longer there."""
        try:
            await self.db.execute("BEGIN IMMEDIATE")
            async with self.db.execute("DELETE FROM outbox WHERE id=?", (row.id,)) as cur:
                moved = cur.rowcount > 0
            if moved:
                await self.db.execute(
                    "INSERT OR REPLACE INTO dead(id, stream, body, why) VALUES (?,?,?,?)",
                    (row.id, row.stream, row.body, why),
                )
            await self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            await self._rollback()
            raise translate(exc, "dead letter") from exc
        return moved

    def file_bytes(self) -> int:
        return sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())

    async def kv_get(self, key: str) -> str | None:
        async with self.db.execute("SELECT value FROM kv WHERE key=?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def durable_write(self, sql: str, params: tuple[object, ...]) -> None:
        """One statement in its own FULL transaction (commands, availability)."""
        try:
            if self._sync != "FULL":
                await self.db.execute("PRAGMA synchronous=FULL")
                self._sync = "FULL"
            await self.db.execute("BEGIN IMMEDIATE")
            await self.db.execute(sql, params)
            await self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            await self._rollback()
            raise translate(exc, "durable write") from exc

    async def unreplied_commands(self) -> list[tuple[str, str, str, str | None]]:
        """Commands recorded but whose reply may not be in the outbox (a kill came between)."""
        sql = (
            "SELECT request_id, name, state, reply FROM commands WHERE replied=0 ORDER BY received"
        )
        async with self.db.execute(sql) as cur:
            rows = await cur.fetchall()
        return [
            (str(r[0]), str(r[1]), str(r[2]), None if r[3] is None else str(r[3])) for r in rows
        ]

    async def command_state(self, request_id: str) -> str | None:
        sql = "SELECT state FROM commands WHERE request_id=?"
        async with self.db.execute(sql, (request_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])


def move_aside(path: Path, stamp: str) -> Path:
    """Rename the file with its WAL (they belong together) to `<name>.corrupt-<stamp>`."""
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            src.rename(Path(str(target) + suffix))
    return target


async def salvage(path: Path, chunk: int = 500, max_chunks: int = 100_000) -> list[NewRow]:
    """Readable outbox rows of a quarantined file, oldest first. Reads in id ranges so one
    bad page costs only the rows on it; bounded by `max_chunks`."""
    rows: list[NewRow] = []
    try:
        db = await aiosqlite.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        top = await _max_id(db)
        sql = "SELECT stream, seq, cls, created, body FROM outbox WHERE id>=? AND id<? ORDER BY id"
        for start in range(0, min(top + 1, chunk * max_chunks), chunk):
            try:
                async with db.execute(sql, (start, start + chunk)) as cur:
                    async for s, q, c, t, b in cur:
                        rows.append(NewRow(str(s), int(q), MsgClass(int(c)), float(t), str(b)))
            except (sqlite3.Error, ValueError):
                log.warning("outbox_salvage_skipped ids=%d..%d", start, start + chunk - 1)
    finally:
        await db.close()
    return rows


async def _max_id(db: aiosqlite.Connection) -> int:
    for sql in ("SELECT max(id) FROM outbox", "SELECT seq FROM sqlite_sequence"):
        try:
            async with db.execute(sql) as cur:
                row = await cur.fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
        except sqlite3.Error:
            continue
    return 0
