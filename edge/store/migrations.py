"""The local store's schema, as numbered steps. PRAGMA user_version says how many ran.

Append a step to add tables; never edit a step that has shipped, a site's file already ran it.
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
    # 2: site access. Bookings (one row each, the latest version wins), the assignment history
    # (every change with its reason), and the audit log: append-only and hash-chained
    # (edge/store/audit_rows.py); the triggers refuse any UPDATE or DELETE of an entry.
    """
    CREATE TABLE bookings (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        start REAL NOT NULL,
        bay TEXT,
        body TEXT NOT NULL
    );
    CREATE TABLE assignments (
        id INTEGER PRIMARY KEY,
        booking TEXT NOT NULL,
        from_bay TEXT,
        to_bay TEXT,
        reason TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX assignments_booking ON assignments (booking, id);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        by TEXT NOT NULL,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """,
    # 3: the gates' ledger (edge/access/credentials.py): credentials inside (anti-passback)
    # and spent QR nonces (single use), so that neither is forgotten by a restart. One row per
    # key, pruned once it can decide nothing (nonce past its expiry, stay past max_stay_s).
    """
    CREATE TABLE ledger (
        kind TEXT NOT NULL CHECK (kind IN ('inside', 'spent')),
        key TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (kind, key)
    );
    """,
    # 4 (power-ops): operator limits on limit nodes (`edge limit set`, the cloud's `site-limit`),
    # one row per node: the latest set wins, a clear deletes it, a lapsed one is deleted at load
    # (edge/store/limit_rows.py). Each set and clear is in the audit log as well.
    """
    CREATE TABLE operator_limits (
        node TEXT PRIMARY KEY,
        limit_w REAL NOT NULL CHECK (limit_w >= 0),
        until REAL NOT NULL,
        reason TEXT NOT NULL,
        by TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
    # 5 (access events): the bookings owner's events, durable with the change they tell.
    # `booking_events` holds each events/booking payload, written in the transaction of the
    # booking row; `relay_cursor` says how far each source (booking_events, assignments,
    # audit) has been handed to the uplink's outbox. Cursors start at what exists: rows
    # written before this step were offered to the outbox the old way.
    """
    CREATE TABLE booking_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the relay's cursor is an id
        at REAL NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE TABLE relay_cursor (
        source TEXT PRIMARY KEY,
        after INTEGER NOT NULL
    );
    INSERT INTO relay_cursor VALUES ('booking_events', 0);
    INSERT INTO relay_cursor SELECT 'assignments', COALESCE(MAX(id), 0) FROM assignments;
    INSERT INTO relay_cursor SELECT 'audit', COALESCE(MAX(seq), 0) FROM audit;
    """,
    # 6 (authorization): the local authorization list (edge/auth/), OCPP SendLocalList. One
    # row holds the whole list as JSON with its version, so a full update replaces it in one
    # statement; the parts of a full update still being assembled wait in their own table.
    """
    CREATE TABLE auth_list (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE auth_list_parts (
        version INTEGER NOT NULL,
        part INTEGER NOT NULL,
        parts INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (version, part)
    );
    """,
    # 7 (billing): charging sessions open now (edge/billing/), one row per bay, so a restart
    # resumes each with its session id and its meter reading at the start.
    """
    CREATE TABLE billing_open_sessions (
        bay TEXT PRIMARY KEY,
        body TEXT NOT NULL
    );
    """,
)
