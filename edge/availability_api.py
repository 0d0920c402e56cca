"""The availability owner on the local API (`edge bay ...`) and its time and status formats.

`bay-availability` records who asked from the socket's peer credentials, not from anything
the client says. Bad input is answered `bad_params` (the CLI exits 2), never `internal`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.availability import Change, Source, View
from edge.availability_owner import AvailabilityOwner
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer

EXAMPLE = "e.g. 2026-12-01T14:00 (site time), 2026-12-01T13:00Z or 2026-12-01T14:00+01:00"


def parse_time(text: str, timezone: str, field: str = "until") -> float:
    """ISO 8601; without an offset it is the site's local time. UTC epoch seconds."""
    try:
        at = datetime.fromisoformat(text.strip())
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(timezone))
        return at.timestamp()
    except (ValueError, OverflowError, ZoneInfoNotFoundError) as exc:
        raise ValueError(f"{field}: {text[:40]!r} is not an ISO 8601 time ({EXAMPLE})") from exc


def iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def change_row(c: Change) -> dict[str, Any]:
    return {
        "target": c.target,
        "kind": c.kind.value,
        "available": c.available,
        "reason": c.reason,
        "since": iso(c.at),
        "until": iso(c.until),
        "source": c.source.value,
        "by": c.by,
    }


def status(owner: AvailabilityOwner) -> dict[str, Any]:
    """What `edge bay status` shows: every bay and charger, why it is out, the changes."""
    v: View = owner.view()
    topo = owner.topology
    bays = [
        {
            "id": bay,
            "charger": charger,
            "available": bay not in v.unavailable_bays,
            "out_because": [change_row(c) for c in v.why(topo, bay)],
        }
        for bay, charger in sorted(topo.bays.items())
    ]
    chargers = [{"id": ch, "available": ch not in v.out_of_service} for ch in sorted(topo.chargers)]
    return {
        "timezone": owner.config.timezone,
        "at": iso(v.at),
        "bays": bays,
        "chargers": chargers,
        "changes": [change_row(c) for c in owner.changes()],
        "unavailable_bays": list(v.unavailable_bays),
        "warnings": list(owner.warnings),
    }


def register(api: LocalApiServer, owner: AvailabilityOwner) -> None:
    async def change(params: dict[str, Any]) -> dict[str, Any]:
        target, available = params.get("target"), params.get("available")
        reason, until = params.get("reason", ""), params.get("until")
        if not isinstance(target, str) or not isinstance(available, bool):
            raise ProtocolError("bad_params", "bay-availability: needs 'target' and 'available'")
        if not isinstance(reason, str) or not (until is None or isinstance(until, str)):
            raise ProtocolError("bad_params", "bay-availability: 'reason', 'until' are strings")
        peer = current_peer()
        try:
            when = None if until is None else parse_time(until, owner.config.timezone)
            await owner.change(
                target,
                available=available,
                reason=reason,
                until=when,
                source=Source.TECHNICIAN,
                by=peer.user if peer else "unknown",
            )
        except ValueError as exc:
            raise ProtocolError("bad_params", str(exc)) from exc
        return status(owner)

    api.register("bay-availability", change)
    api.register("bay-status", lambda params: status(owner))
