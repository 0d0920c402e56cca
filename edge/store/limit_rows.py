"""Operator limits as rows of the local store (table `operator_limits`, migration 4): one row
per limit node, the latest set replacing the one before; a clear deletes it. A row is the
fields of `edge.operator_limits.OperatorLimit`, in its order (this module does not import it:
that module imports this one)."""

from __future__ import annotations

import logging
import math
from typing import Protocol

from edge.store.local_store import LocalStore

log = logging.getLogger(__name__)
COLUMNS = "node, limit_w, until, reason, by, at"
Row = tuple[str, float, float, str, str, float]  # node, limit_w, until, reason, by, at


class StoredLimit(Protocol):
    @property
    def node(self) -> str: ...
    @property
    def limit_w(self) -> float: ...
    @property
    def until(self) -> float: ...
    @property
    def reason(self) -> str: ...
    @property
    def by(self) -> str: ...
    @property
    def at(self) -> float: ...


async def save(store: LocalStore, limit: StoredLimit) -> None:
    await store.write(
        f"INSERT OR REPLACE INTO operator_limits ({COLUMNS}) VALUES (?,?,?,?,?,?)",  # noqa: S608
        (limit.node, limit.limit_w, limit.until, limit.reason, limit.by, limit.at),
    )


async def delete(store: LocalStore, node: str) -> None:
    await store.write("DELETE FROM operator_limits WHERE node=?", (node,))


async def load(store: LocalStore, now: float) -> list[Row]:
    """The limits still in force at `now`; lapsed rows are deleted. A row this release cannot
    read is skipped with a warning (and kept: a newer release may read it)."""
    await store.write("DELETE FROM operator_limits WHERE until <= ?", (now,))
    out: list[Row] = []
    for raw in await store.read(f"SELECT {COLUMNS} FROM operator_limits ORDER BY node"):  # noqa: S608
        try:
            node, limit_w, until, reason, by, at = raw
            row = (str(node), float(limit_w), float(until), str(reason), str(by), float(at))
        except (TypeError, ValueError) as exc:
            log.warning("operator_limit_row_unreadable node=%s why=%s", raw[0], exc)
            continue
        if not (math.isfinite(row[1]) and row[1] >= 0):
            log.warning("operator_limit_row_unreadable node=%s why=limit_w %r", row[0], row[1])
            continue
        out.append(row)
    return out
