"""Bay availability on the wire: the `bay-availability` command into the daemon's owner
(edge/availability_owner.py) and its view out as the retained `state/bay-availability`
payload (schemas/bay-availability.json). The owner keeps and persists the state in the
local store; the uplink only carries it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.availability import Source, View
from edge.availability_owner import AvailabilityOwner
from edge.uplink.envelope import utc_iso

log = logging.getLogger(__name__)
STREAM = "state/bay-availability"
LEGACY_KEY = "bay_availability"  # where releases before the owner kept it: the outbox's kv


def state_payload(view: View) -> dict[str, Any]:
    return {
        "out_of_service": {
            target: {
                "kind": c.kind.value,
                "reason": c.reason,
                "since": utc_iso(c.at),
                "expected_end": None if c.until is None else utc_iso(c.until),
            }
            for target, c in view.out_of_service.items()
        },
        "unavailable_bays": list(view.unavailable_bays),
    }


def expected_end(value: Any) -> float | None:
    """The command's `expected_end` (RFC 3339, with offset) as the change's `until`."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value))
        stamp = at.timestamp()
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"expected_end: {value!r} is not an RFC 3339 date-time") from exc
    if at.tzinfo is None:
        raise ValueError(f"expected_end: {value!r} needs an offset (Z or +hh:mm)")
    return stamp


async def command(owner: AvailabilityOwner, args: dict[str, Any]) -> dict[str, Any]:
    """The `bay-availability` handler (args validated by the schema); the new state."""
    view = await owner.change(
        str(args["target"]),
        available=bool(args["available"]),
        reason=str(args.get("reason", "")),
        until=expected_end(args.get("expected_end")),
        source=Source.CLOUD,
        by="cloud",
    )
    return state_payload(view)


def legacy_entries(outbox: Path) -> dict[str, Any]:
    """What an older release kept in the outbox file; {} when there is none or it is unreadable."""
    if not outbox.is_file():
        return {}
    try:
        with contextlib.closing(sqlite3.connect(f"file:{outbox}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT value FROM kv WHERE key=?", (LEGACY_KEY,)).fetchone()
        data = json.loads(row[0]) if row else {}
    except (sqlite3.Error, ValueError) as exc:
        log.warning("availability_legacy_unreadable path=%s why=%s", outbox, exc)
        return {}
    return data if isinstance(data, dict) else {}


async def import_legacy(owner: AvailabilityOwner, state_dir: Path) -> int:
    """Once, into a new store: the bays an older release had out of service (an upgrade
    must not put a bay under repair back in service). How many were taken over."""
    if not owner.store.created or owner.changes():
        return 0
    taken = 0
    for target, entry in legacy_entries(state_dir / "uplink" / "outbox.db").items():
        info = entry if isinstance(entry, dict) else {}
        try:
            await owner.change(
                str(target),
                available=False,
                reason=str(info.get("reason") or "taken over from the outbox file"),
                until=expected_end(info.get("expected_end")),
                source=Source.CLOUD,
                by="cloud (imported)",
            )
        except ValueError as exc:  # a bay since removed from the site file, a lapsed end
            log.warning("availability_legacy_skipped target=%s why=%s", target, exc)
            continue
        taken += 1
    return taken
