"""The local store's schema, as numbered steps. PRAGMA user_version says how many ran.

Append a step to add tables (site access: bookings, assignments, an append-only audit
log); never edit a step that has shipped, a site's file already ran it.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: bay and charger availability changes, one row each, as edge/availability.py's Change.
    """
    CREATE TABLE availability (
        id INTEGER PRIMARY KEY,
        target TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('bay', 'charger')),
        available INTEGER NOT NULL CHECK (available IN (0, 1)),
        reason TEXT NOT NULL,
        at REAL NOT NULL,
        until REAL,
        source TEXT NOT NULL CHECK (source IN ('technician', 'cloud')),
        by TEXT NOT NULL
    );
    CREATE INDEX availability_target ON availability (target, at);
    """,
)
