"""A file SQLite calls corrupt: renamed aside (quarantined), a fresh one opened, and the
rows that can still be read from the old one replayed into it. Runs on the store thread."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from edge.uplink.outbox_db import NewRow, OutboxDb
from edge.uplink.policy import MsgClass

log = logging.getLogger(__name__)


def replace_and_salvage(db: OutboxDb, stamp: str) -> tuple[Path, list[NewRow]]:
    """Quarantine the file, open a fresh one and replay the readable rows into it, with
    the stream counters that can be read (so no seq is issued twice)."""
    db.close()
    target = move_aside(db.path, stamp)
    rows = salvage(target)
    db.open()
    db.commit(rows, durable=True, seqs=salvage_counters(target))
    return target, rows


def move_aside(path: Path, stamp: str) -> Path:
    """Rename the file with its WAL (they belong together) to `<name>.corrupt-<stamp>`."""
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(str(path) + suffix)
        if src.exists():
            src.rename(Path(str(target) + suffix))
    return target


def salvage(path: Path, chunk: int = 500, max_chunks: int = 100_000) -> list[NewRow]:
    """Readable outbox rows of a quarantined file, oldest first. Reads in id ranges so one
    bad page costs only the rows on it; bounded by `max_chunks`."""
    rows: list[NewRow] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return rows
    try:
        top = _max_id(db)
        sql = "SELECT stream, seq, cls, created, body FROM outbox WHERE id>=? AND id<? ORDER BY id"
        for start in range(0, min(top + 1, chunk * max_chunks), chunk):
            try:
                for s, q, c, t, b in db.execute(sql, (start, start + chunk)):
                    rows.append(NewRow(str(s), int(q), MsgClass(int(c)), float(t), str(b)))
            except (sqlite3.Error, ValueError):
                log.warning("outbox_salvage_skipped ids=%d..%d", start, start + chunk - 1)
    finally:
        db.close()
    return rows


def salvage_counters(path: Path) -> dict[str, int]:
    """The quarantined file's next seq per stream, as far as it can be read."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return {}
    try:
        return {str(s): int(n) for s, n in db.execute("SELECT stream, next_seq FROM streams")}
    except (sqlite3.Error, ValueError, TypeError):
        log.warning("outbox_salvage_counters_unreadable path=%s", path)
        return {}
    finally:
        db.close()


def _max_id(db: sqlite3.Connection) -> int:
    for sql in ("SELECT max(id) FROM outbox", "SELECT seq FROM sqlite_sequence"):
        try:
            row = db.execute(sql).fetchone()
        except sqlite3.Error:
            continue
        if row is not None and row[0] is not None:
            return int(row[0])
    return 0
