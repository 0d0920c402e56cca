"""Availability changes as rows of the local store (table `availability`, migration 1)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from edge.availability import Change, Kind, Source
from edge.store.local_store import LocalStore

log = logging.getLogger(__name__)
COLUMNS = "target, kind, available, reason, at, until, source, by"


async def save(store: LocalStore, change: Change) -> None:
    await store.write(
        f"INSERT INTO availability ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",  # noqa: S608 (constant)
        (
            change.target,
            change.kind.value,
            int(change.available),
            change.reason,
            change.at,
            change.until,
            change.source.value,
            change.by,
        ),
    )


async def load(store: LocalStore) -> list[tuple[int, Change]]:
    """Every stored change with its row id, in the order recorded. A row this release cannot
    read (written by a newer one) is skipped with a warning, never fatal."""
    sql = f"SELECT id, {COLUMNS} FROM availability ORDER BY id"  # noqa: S608 (constant)
    out: list[tuple[int, Change]] = []
    for row_id, target, kind, available, reason, at, until, source, by in await store.read(sql):
        try:
            change = Change(
                str(target),
                Kind(kind),
                bool(available),
                str(reason),
                float(at),
                None if until is None else float(until),
                Source(source),
                str(by),
            )
        except (TypeError, ValueError) as exc:
            log.warning("availability_row_unreadable id=%s why=%s", row_id, exc)
            continue
        out.append((int(row_id), change))
    return out


async def delete(store: LocalStore, row_ids: Iterable[int]) -> None:
    """Drop rows that can no longer decide anything (lapsed or overridden for good)."""
    for row_id in row_ids:
        await store.write("DELETE FROM availability WHERE id=?", (row_id,))
