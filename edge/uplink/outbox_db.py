"""The outbox's SQLite file: its schema and the SQL of the outbox (`records` has the SQL
of the small command and key/value tables kept in the same file).

Plain sqlite3, called on the outbox's store thread (`store_thread`), one whole transaction
per call. WAL journal. `synchronous` is switched per transaction: FULL when the transaction
holds an event (it must survive a power cut once `accept` returns), NORMAL otherwise
(telemetry and deletes may roll back on a power cut, which costs at most a re-send or a
lost telemetry window, never an event). Every failure leaves here as a `StoreError`:
see `store_errors`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from edge.uplink.policy import MsgClass, StoredRow, Usage, class_of
from edge.uplink.store_errors import StoreCorrupt, StoreUnavailable, translate

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the drain reads by id cursor
    stream TEXT NOT NULL, seq INTEGER NOT NULL, cls INTEGER NOT NULL,
    created REAL NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL);
-- Telemetry only: eviction reads the oldest telemetry; an event's commit and delete do
-- not pay for it (older files have outbox_cls on every row: dropped on open).
DROP INDEX IF EXISTS outbox_cls;
CREATE INDEX IF NOT EXISTS outbox_telemetry ON outbox(id) WHERE cls=2;
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox(stream, id);  -- per-stream reading
CREATE TABLE IF NOT EXISTS streams(stream TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead(id INTEGER PRIMARY KEY, stream TEXT, body TEXT, why TEXT);
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS commands(
    request_id TEXT PRIMARY KEY, name TEXT NOT NULL, received REAL NOT NULL,
    state TEXT NOT NULL, result TEXT, reply TEXT, replied INTEGER NOT NULL DEFAULT 0);
"""
# A stream's counter never moves back, whoever commits (the max of stored and offered).
SEQ_SQL = (
    "INSERT INTO streams(stream, next_seq) VALUES (?, ?) "
    "ON CONFLICT(stream) DO UPDATE SET next_seq=max(next_seq, excluded.next_seq)"
)


_READ = (
    "SELECT id, stream, size, body, created FROM outbox WHERE cls={} AND id>? ORDER BY id LIMIT ?"
)
# The class as a literal so SQLite can use the partial telemetry index; events and state
# walk the ids (tests and benches: the drain reads per stream).
READ_SQL = {c: _READ.format(int(c)) for c in MsgClass}
# Rows removed, per class: (cls, rows, bytes); a class may appear more than once.
Gone = list[tuple[int, int, int]]


class OutRow(NamedTuple):
    """A stored row as the drain reads it (a named tuple: the drain reads thousands a
    second and a tuple is built at half the cost of a frozen dataclass)."""

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


def id_runs(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted ids as (first, last) runs of consecutive integers."""
    runs: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def next_seqs(rows: Sequence[NewRow]) -> dict[str, int]:
    """Each stream's next sequence number after `rows`."""
    seqs: dict[str, int] = {}
    for r in rows:
        seqs[r.stream] = max(seqs.get(r.stream, 0), r.seq + 1)
    return seqs


class OutboxDb:
    def __init__(self, path: Path, *, max_pages: int | None = None) -> None:
        self.path = path
        self._max_pages = max_pages  # tests emulate a full disk with SQLite's page cap
        self._db: sqlite3.Connection | None = None
        self._sync = ""

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreUnavailable(f"outbox: database not open ({self.path})")
        return self._db

    @property
    def is_open(self) -> bool:
        return self._db is not None

    def open(self) -> None:
        """Open (creating) the file. StoreCorrupt: SQLite cannot read it."""
        self.close()  # a writer restarted after a failure must not leave a connection behind
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
            if self._max_pages:
                self._db.execute(f"PRAGMA max_page_count={int(self._max_pages)}")
            verdict = self._db.execute("PRAGMA quick_check").fetchone()
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise translate(exc, f"open {self.path}") from exc
        if verdict is None or verdict[0] != "ok":
            self.close()
            raise StoreCorrupt(f"outbox: integrity check failed: {verdict} ({self.path})")
        self._sync = ""

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                log.warning("outbox_close_failed path=%s", self.path)
            self._db = None

    def load(self) -> tuple[dict[str, int], Usage, dict[MsgClass, int]]:
        """Next seq per stream, bytes per class, rows per class."""
        with self.errors("load"):
            seqs = {
                str(s): int(n) for s, n in self.db.execute("SELECT stream, next_seq FROM streams")
            }
            sql = "SELECT cls, count(*), coalesce(sum(size), 0) FROM outbox GROUP BY cls"
            by = {int(c): (int(n), int(z)) for c, n, z in self.db.execute(sql)}
        usage = Usage(*(by.get(c, (0, 0))[1] for c in MsgClass))
        return seqs, usage, {c: by.get(c, (0, 0))[0] for c in MsgClass}

    def commit(
        self, rows: Sequence[NewRow], *, durable: bool, seqs: dict[str, int] | None = None
    ) -> Gone:
        """Insert rows and move their streams' counters (and `seqs`, when given) forward in
        one transaction. Returns what state rows newer ones superseded."""
        with self.transaction("commit", durable=durable):
            gone = self._supersede(rows)
            self.db.executemany(
                "INSERT INTO outbox(stream, seq, cls, created, size, body) VALUES (?,?,?,?,?,?)",
                [(r.stream, r.seq, int(r.cls), r.created, r.size, r.body) for r in rows],
            )
            counters = dict(seqs or {})
            for stream, nxt in next_seqs(rows).items():
                counters[stream] = max(nxt, counters.get(stream, 0))
            self.db.executemany(SEQ_SQL, counters.items())
        return gone

    def _supersede(self, rows: Sequence[NewRow]) -> Gone:
        streams = sorted({r.stream for r in rows if r.cls is MsgClass.STATE})
        if not streams:
            return []
        sql = (
            "DELETE FROM outbox WHERE cls=1 AND stream IN (SELECT value FROM json_each(?)) "
            "RETURNING cls, size"
        )
        return [(int(c), 1, int(s)) for c, s in self.db.execute(sql, (json.dumps(streams),))]

    @contextlib.contextmanager
    def transaction(self, where: str, *, durable: bool) -> Iterator[None]:
        with self.errors(where):
            sync = "FULL" if durable else "NORMAL"
            if sync != self._sync:
                self.db.execute(f"PRAGMA synchronous={sync}")
                self._sync = sync
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back
                    self.db.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def errors(self, where: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise translate(exc, where) from exc

    def delete(self, ids: Iterable[int]) -> Gone:
        """Delete rows by id in one NORMAL transaction; returns what existed of them, per
        class. Acknowledged ids come in runs (one PUBACK burst): one range per run, totals
        summed by SQLite (a row per deleted row back in Python costs more than the delete)."""
        runs = id_runs(ids)
        total = "SELECT cls, count(*), sum(size) FROM outbox WHERE id BETWEEN ? AND ? GROUP BY cls"
        with self.transaction("delete", durable=False):
            gone = [g for run in runs for g in self.db.execute(total, run).fetchall()]
            self.db.executemany("DELETE FROM outbox WHERE id BETWEEN ? AND ?", runs)
        return [(int(c), int(n), int(b)) for c, n, b in gone]

    def read(self, cls: MsgClass, after_id: int, limit: int) -> list[OutRow]:
        sql = READ_SQL[cls]
        with self.errors("read"):
            rows = self.db.execute(sql, (after_id, limit)).fetchall()
        return [OutRow(i, s, cls, z, b, c) for i, s, z, b, c in rows]

    def read_stream(self, stream: str, after_id: int, limit: int) -> list[OutRow]:
        sql = (
            "SELECT id, size, body, created FROM outbox WHERE stream=? AND id>? ORDER BY id LIMIT ?"
        )
        cls = class_of(stream)  # a stream's rows all have its class (`policy.class_of`)
        with self.errors("read"):
            rows = self.db.execute(sql, (stream, after_id, limit)).fetchall()
        return [OutRow(i, stream, cls, z, b, t) for i, z, b, t in rows]

    def stream_names(self) -> list[str]:
        with self.errors("read"):
            return [str(s) for (s,) in self.db.execute("SELECT stream FROM streams")]

    def oldest_telemetry(self, limit: int) -> list[StoredRow]:
        sql = "SELECT id, stream, created, size FROM outbox WHERE cls=2 ORDER BY id LIMIT ?"
        with self.errors("read"):
            return [
                StoredRow(int(i), str(s), float(c), int(z))
                for i, s, c, z in self.db.execute(sql, (limit,))
            ]

    def oldest_created(self) -> dict[MsgClass, float]:
        """Per class, the creation time of its oldest row (the lowest id), found per stream
        through the stream index (a class has no index of its own)."""
        oldest: dict[MsgClass, tuple[int, float]] = {}
        sql = "SELECT id, created FROM outbox WHERE stream=? ORDER BY id LIMIT 1"
        with self.errors("read"):
            for (stream,) in self.db.execute("SELECT stream FROM streams").fetchall():
                row = self.db.execute(sql, (stream,)).fetchone()
                cls = class_of(str(stream))
                if row is not None and (cls not in oldest or row[0] < oldest[cls][0]):
                    oldest[cls] = (int(row[0]), float(row[1]))
        return {c: t for c, (_, t) in oldest.items()}

    def dead_letter(self, row: OutRow, why: str) -> bool:
        """Move a row to the dead-letter table; False if it was no longer there."""
        with self.transaction("dead letter", durable=True):
            moved = self.db.execute("DELETE FROM outbox WHERE id=?", (row.id,)).rowcount > 0
            if moved:
                self.db.execute(
                    "INSERT OR REPLACE INTO dead(id, stream, body, why) VALUES (?,?,?,?)",
                    (row.id, row.stream, row.body, why),
                )
        return moved

    def file_bytes(self) -> int:
        paths = (self.path, Path(f"{self.path}-wal"))
        with contextlib.suppress(OSError):
            return sum(p.stat().st_size for p in paths if p.exists())
        return 0
