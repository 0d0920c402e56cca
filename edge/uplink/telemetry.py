"""Telemetry payloads built from what the daemon already has. Pure, no I/O.

Per bay, power, setpoint, state, the truck's state of charge (`soc_pct`, when its charger
reports it) and `binding` (what limits the bay: `limit:<id>`,
`charger:<id>`, `bay:<id>`, `vehicle`, `mode:<mode>`, `override:<id>`) come from the cycle's
record (the power controller's bay rows); a value not known (no cycle yet, no charger
reports the bay) is null, never invented.
"""

from __future__ import annotations

from typing import Any

from edge.siteconf.model import SiteConfig


def bay_rows(
    config: SiteConfig, unavailable: list[str], live: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    out = set(unavailable)
    by_bay = {r["id"]: r for r in live or ()}
    rows = []
    for b in config.bays:
        r = by_bay.get(b.id, {})
        rows.append(
            {
                "id": b.id,
                "charger": b.charger,
                "power_w": r.get("power_w"),
                "setpoint_w": r.get("setpoint_w"),
                "state": r.get("state"),
                "soc_pct": r.get("soc_pct"),
                "binding": r.get("binding"),
                "available": b.id not in out,
            }
        )
    return rows


def site_snapshot(record: dict[str, Any], bays: list[dict[str, Any]]) -> dict[str, Any]:
    """One control cycle's record as the `telemetry/site` payload."""
    return {
        "cycle": record.get("cycle"),
        "mode": record.get("mode"),
        "grid": {
            "import_w": record.get("import_w"),
            "import_limit_w": record.get("import_limit_w"),
        },
        "generation_w": record.get("generation_w"),
        "budget": {"headroom_w": record.get("headroom_w")},
        "warnings": list(record.get("warnings") or []),
        "bays": bays,
    }
