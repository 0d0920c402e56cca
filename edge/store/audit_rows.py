"""The audit log: append-only and hash-chained, in the local store (table `audit`, migration 2).

Each entry's hash is sha256(prev_hash + canonical JSON of the entry), the first entry's
prev_hash 64 zeros, so editing, removing or reordering any stored entry breaks `verify` from
that entry on. SQLite triggers refuse UPDATE and DELETE; the chain catches what bypasses them
(another tool, a restored backup, a hand-edited file).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from edge.store.local_store import LocalStore, Params

GENESIS = "0" * 64
COLUMNS = "seq, at, kind, subject, by, detail, prev_hash, hash"


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: float  # UTC epoch seconds
    kind: str  # what was decided: booking-upsert, assignment, no-show, overstay, ...
    subject: str  # what it concerns: a booking id, a lane, a bay
    by: str  # who asked: cloud, a local user, the site itself
    detail: dict[str, Any]
    prev_hash: str = GENESIS
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """What the hash covers (every field but the hashes)."""
        return {
            "seq": self.seq,
            "at": self.at,
            "kind": self.kind,
            "subject": self.subject,
            "by": self.by,
            "detail": self.detail,
        }


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, entry: Entry) -> str:
    return hashlib.sha256((prev_hash + canonical(entry.body())).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    entries: int
    first_bad: int | None = None  # seq of the first entry that does not chain
    why: str = ""


def verify_chain(entries: list[Entry]) -> Verdict:
    """Pure check of a chain read back in seq order."""
    prev, expected_seq = GENESIS, 1
    for e in entries:
        if e.seq != expected_seq:
            return Verdict(False, len(entries), e.seq, f"seq {e.seq} where {expected_seq} due")
        if e.prev_hash != prev:
            return Verdict(False, len(entries), e.seq, "prev_hash does not match")
        if entry_hash(prev, e) != e.hash:
            return Verdict(False, len(entries), e.seq, "hash does not match the entry")
        prev, expected_seq = e.hash, expected_seq + 1
    return Verdict(True, len(entries))


async def read(store: LocalStore, after: int = 0, limit: int = -1) -> list[Entry]:
    sql = f"SELECT {COLUMNS} FROM audit WHERE seq > ? ORDER BY seq LIMIT ?"  # noqa: S608
    return [
        Entry(int(s), float(at), str(k), str(sub), str(by), json.loads(d), str(p), str(h))
        for s, at, k, sub, by, d, p, h in await store.read(sql, (after, limit))
    ]


async def verify(store: LocalStore) -> Verdict:
    try:
        entries = await read(store)
    except ValueError as exc:  # a detail that is no longer JSON
        return Verdict(False, 0, None, f"unreadable entry: {exc}")
    return verify_chain(entries)


class AuditLog:
    """Appends entries one at a time (the lock keeps the chain linear across tasks)."""

    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._lock = asyncio.Lock()
        self._tail: tuple[int, str] | None = None  # (seq, hash) of the last stored entry

    async def append(
        self,
        kind: str,
        subject: str,
        by: str,
        detail: dict[str, Any],
        at: float,
        also: Sequence[tuple[str, Params]] = (),
    ) -> Entry:
        """Store one entry durably, in one transaction with the rows `also` (the decision's
        own state and event rows); StoreUnavailable if it could not be (nothing written)."""
        async with self._lock:
            if self._tail is None:
                last = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
                rows = await self.store.read(last)
                self._tail = (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)
            seq, prev = self._tail
            draft = Entry(seq + 1, at, kind, subject, by, json.loads(canonical(detail)), prev)
            entry = replace(draft, hash=entry_hash(prev, draft))
            row = (*_fields(entry)[:5], canonical(entry.detail), entry.prev_hash, entry.hash)
            insert = f"INSERT INTO audit ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?)"  # noqa: S608
            await self.store.write_all([*also, (insert, row)])
            self._tail = (entry.seq, entry.hash)
            return entry


def _fields(e: Entry) -> tuple[Any, ...]:
    return (e.seq, e.at, e.kind, e.subject, e.by, e.detail, e.prev_hash, e.hash)


def wire(entry: Entry) -> dict[str, Any]:
    """The `events/audit` payload."""
    return {**entry.body(), "prev_hash": entry.prev_hash, "hash": entry.hash}
