"""How the outbox's store fails, by what the outbox does about it: a corrupt file is
quarantined; a full one is relieved and its records held in memory; an unavailable one
(read-only, missing directory, I/O error) is retried while records wait in memory.
SQLite and OS errors are translated here, once."""

from __future__ import annotations

import errno

CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
FULL_CODES = {13}  # SQLITE_FULL (SQLite reports ENOSPC as this too)


class StoreError(Exception):
    """The store refused an operation; the subclass says how to react."""


class StoreCorrupt(StoreError):
    """Quarantine the file."""


class StoreFull(StoreError):
    """Relieve, hold in memory."""


class StoreUnavailable(StoreError):
    """Cannot open or write (read-only, missing directory, I/O error)."""


def translate(exc: Exception, where: str) -> StoreError:
    if isinstance(exc, StoreError):
        return exc
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in CORRUPT_CODES:
        return StoreCorrupt(f"outbox: database corrupt: {exc} ({where})")
    if (code is not None and code & 0xFF in FULL_CODES) or getattr(exc, "errno", 0) in (
        errno.ENOSPC,
        errno.EDQUOT,
    ):
        return StoreFull(f"outbox: disk or page budget full: {exc} ({where})")
    return StoreUnavailable(f"outbox: cannot use the database: {exc} ({where})")
