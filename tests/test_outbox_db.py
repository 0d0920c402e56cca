"""The outbox's SQL layer (`OutboxDb`) on a real SQLite file: deletes by id range, their
synchronous mode, the change of indexes in files written by older releases."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.uplink.outbox_db import NewRow, OutboxDb, id_runs
from edge.uplink.policy import MsgClass, class_of

# The outbox table and indexes as written by releases before the telemetry-only index.
SCHEMA_1 = """
CREATE TABLE outbox(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL, seq INTEGER NOT NULL, cls INTEGER NOT NULL,
    created REAL NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX outbox_cls ON outbox(cls, id);
CREATE INDEX outbox_stream ON outbox(stream, id);
CREATE TABLE streams(stream TEXT PRIMARY KEY, next_seq INTEGER NOT NULL);
"""


def row(stream: str, seq: int, created: float = 0.0, body: str = "b" * 10) -> NewRow:
    return NewRow(stream, seq, class_of(stream), created, body)


def opened(path: Path) -> OutboxDb:
    db = OutboxDb(path)
    db.open()
    return db


def ids(db: OutboxDb) -> list[int]:
    return [int(i) for (i,) in db.db.execute("SELECT id FROM outbox ORDER BY id")]


def test_id_runs_are_consecutive_integers_only() -> None:
    assert id_runs([9, 3, 4, 5, 1, 4, 7]) == [(1, 1), (3, 5), (7, 7), (9, 9)]
    assert id_runs([]) == []


def test_delete_removes_only_the_given_ids_and_counts_them_per_class(tmp_path: Path) -> None:
    db = opened(tmp_path / "o.db")
    try:
        streams = ["events/a", "telemetry/t", "events/a", "state/s", "telemetry/t"] * 2
        db.commit([row(s, n, body="x" * (n + 1)) for n, s in enumerate(streams)], durable=True)
        gone = db.delete([2, 3, 4, 7, 9, 99])  # 99 never existed
        assert ids(db) == [1, 5, 6, 8, 10]
        totals: dict[int, tuple[int, int]] = {}
        for cls, n, size in gone:
            rows, size_sum = totals.get(cls, (0, 0))
            totals[cls] = (rows + n, size_sum + size)
        # ids 2 and 7 are telemetry (seq 1 and 6), 3 is an event (seq 2), 4 and 9 state.
        assert totals == {
            int(MsgClass.TELEMETRY): (2, 2 + 7),
            int(MsgClass.EVENT): (1, 3),
            int(MsgClass.STATE): (2, 4 + 9),
        }
    finally:
        db.close()


def test_deletes_run_under_normal_even_after_an_event_commit(tmp_path: Path) -> None:
    db = opened(tmp_path / "o.db")
    try:
        db.commit([row("events/a", 1)], durable=True)
        assert db.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        db.delete([1])
        assert db.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        db.commit([row("events/a", 2)], durable=True)  # and back to FULL for an event
        assert db.db.execute("PRAGMA synchronous").fetchone()[0] == 2
    finally:
        db.close()


def test_a_file_with_the_old_class_index_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    old = sqlite3.connect(path)
    old.executescript(SCHEMA_1)
    old.executemany(
        "INSERT INTO outbox(stream, seq, cls, created, size, body) VALUES (?,?,?,?,?,?)",
        [("telemetry/t", 1, 2, 1.0, 1, "t"), ("events/a", 1, 0, 2.0, 1, "e")],
    )
    old.execute("INSERT INTO streams VALUES ('telemetry/t', 2), ('events/a', 2)")
    old.commit()
    old.close()
    db = opened(path)
    try:
        names = {n for (n,) in db.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "outbox_cls" not in names
        assert {"outbox_telemetry", "outbox_stream"} <= names
        plan = db.db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM outbox WHERE cls=2 ORDER BY id LIMIT 1"
        ).fetchall()
        assert "outbox_telemetry" in str(plan)
        assert [r.stream for r in db.oldest_telemetry(10)] == ["telemetry/t"]
        assert [r.body for r in db.read_stream("events/a", 0, 10)] == ["e"]
        seqs, _, counts = db.load()
        assert seqs == {"telemetry/t": 2, "events/a": 2}
        assert counts[MsgClass.EVENT] == 1
        assert counts[MsgClass.TELEMETRY] == 1
    finally:
        db.close()


def test_oldest_created_per_class_is_the_lowest_id_of_the_class(tmp_path: Path) -> None:
    db = opened(tmp_path / "o.db")
    try:
        db.commit(
            [
                row("telemetry/t", 1, created=10.0),
                row("events/b", 1, created=20.0),
                row("events/a", 1, created=30.0),
                row("events/b", 2, created=5.0),  # newer id, older clock: not the oldest
                row("state/s", 1, created=40.0),
            ],
            durable=True,
        )
        db.delete([2])  # events/b's first row delivered: events/a's row is now the oldest
        assert db.oldest_created() == {
            MsgClass.TELEMETRY: 10.0,
            MsgClass.EVENT: 30.0,
            MsgClass.STATE: 40.0,
        }
    finally:
        db.close()
