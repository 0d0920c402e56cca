"""The local store's SQLite file behind aiosqlite: open, migrate, quarantine, read, write.

Low-rate facts a technician or the cloud decided (a bay out of service) must survive a
power cut once acknowledged: WAL with synchronous=FULL, each write its own transaction. A
file SQLite cannot read is renamed aside (`site.db.corrupt-<stamp>`, with its WAL) and a
fresh one started; `alarm` then says so (status warnings, the uplink's alarm), and the
daemon runs on. It never depends on the uplink.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from edge.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

# SQLite primary result codes that mean "this file is damaged or not a database".
CORRUPT_CODES = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}
Params = Sequence[Any]


class StoreUnavailable(Exception):
    """The store cannot be read or written (after quarantine failed too, or disk full)."""


class StoreCorrupt(Exception):
    pass


def is_corrupt(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in CORRUPT_CODES


class LocalStore:
    def __init__(
        self,
        path: Path,
        *,
        migrations: Sequence[str] = MIGRATIONS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._migrations = tuple(migrations)
        self._wall = wall
        self._db: aiosqlite.Connection | None = None
        # One connection for every user: a transaction of several statements must not take
        # in another task's write between its awaits (nor roll it back).
        self._writing = asyncio.Lock()
        self.alarm: str | None = None  # set when the file had to be replaced
        self.quarantined: Path | None = None
        self.created = False  # a new file (not one replacing a quarantined file)

    @property
    def is_open(self) -> bool:
        return self._db is not None

    async def open(self) -> None:
        """Open (creating and migrating); a corrupt file is quarantined and replaced.
        Raises StoreUnavailable when even a fresh file cannot be opened."""
        try:
            await self._open()
            return
        except StoreCorrupt as exc:
            why = str(exc)
        await self.close()
        self.quarantined = self._move_aside()
        self.alarm = f"local store {self.path.name} was unreadable ({why}); quarantined as "
        self.alarm += f"{self.quarantined.name}, started empty: bay availability and bookings "
        self.alarm += "were reset (the old file, with its audit log, is kept aside)"
        log.error(
            "local_store_quarantined path=%s moved_to=%s why=%s", self.path, self.quarantined, why
        )
        try:
            await self._open()
        except StoreCorrupt as exc:
            await self.close()
            raise StoreUnavailable(
                f"local store: fresh file unusable: {exc} ({self.path})"
            ) from exc

    async def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and not self.path.is_file():  # a failed connect leaks a thread
                raise StoreUnavailable(f"local store: not a regular file ({self.path})")
            self._db = await aiosqlite.connect(self.path, isolation_level=None)
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=FULL")
            async with self._db.execute("PRAGMA quick_check") as cur:
                verdict = await cur.fetchone()
            if verdict is None or verdict[0] != "ok":
                raise StoreCorrupt(f"integrity check: {verdict}")
            await self._migrate()
        except sqlite3.Error as exc:
            if is_corrupt(exc):
                raise StoreCorrupt(str(exc)) from exc
            await self.close()
            raise StoreUnavailable(f"local store: cannot open: {exc} ({self.path})") from exc
        except OSError as exc:
            await self.close()
            raise StoreUnavailable(f"local store: cannot open: {exc} ({self.path})") from exc

    async def _migrate(self) -> None:
        version = await self.user_version()
        self.created = version == 0 and self.quarantined is None
        if version > len(self._migrations):  # written by a newer release: use, do not touch
            log.warning(
                "local_store_newer_schema path=%s version=%d known=%d",
                self.path,
                version,
                len(self._migrations),
            )
            return
        for number, step in enumerate(self._migrations[version:], start=version + 1):
            try:  # one transaction per step: the schema and its number move together
                await self.db.executescript(
                    f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            except sqlite3.Error:
                if self.db.in_transaction:
                    await self.db.execute("ROLLBACK")
                raise
            log.info("local_store_migrated path=%s version=%d", self.path, number)

    def _move_aside(self) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self._wall()))
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):  # the WAL belongs to its file
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.rename(Path(str(target) + suffix))
        return target

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreUnavailable(f"local store: not open ({self.path})")
        return self._db

    async def user_version(self) -> int:
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def write(self, sql: str, params: Params = ()) -> int:
        """One statement in its own durable transaction; the new row's id."""
        try:
            async with self._writing, self.db.execute(sql, params) as cur:
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"local store: write failed: {exc} ({self.path})") from exc

    async def write_all(self, statements: Sequence[tuple[str, Params]]) -> None:
        """Several statements in one durable transaction: all of them or none (a state
        change and the event that tells it)."""
        try:
            async with self._writing:
                await self._transaction(self.db, statements)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"local store: write failed: {exc} ({self.path})") from exc

    @staticmethod
    async def _transaction(
        db: aiosqlite.Connection, statements: Sequence[tuple[str, Params]]
    ) -> None:
        await db.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                await db.execute(sql, params)
            await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise

    async def read(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        try:
            async with self.db.execute(sql, params) as cur:
                return [tuple(r) for r in await cur.fetchall()]
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"local store: read failed: {exc} ({self.path})") from exc

    async def close(self) -> None:
        if self._db is not None:
            try:
                await self._db.close()
            except sqlite3.Error:
                log.warning("local_store_close_failed path=%s", self.path)
            self._db = None
