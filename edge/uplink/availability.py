"""Bay availability on the wire: the `bay-availability` command into the daemon's owner
(edge/availability_owner.py) and its view out as the retained `state/bay-availability`
payload (schemas/bay-availability.json). The owner keeps and persists the state in the
local store; the uplink only carries it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from edge.availability import Source, View
from edge.availability_owner import AvailabilityOwner
from edge.uplink.envelope import utc_iso

STREAM = "state/bay-availability"


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
    except ValueError as exc:
        raise ValueError(f"expected_end: {value!r} is not an RFC 3339 date-time") from exc
    if at.tzinfo is None:
        raise ValueError(f"expected_end: {value!r} needs an offset (Z or +hh:mm)")
    return at.timestamp()


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
