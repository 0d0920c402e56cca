"""Telemetry payloads built from what the daemon already has. Pure, no I/O.

Values not known yet (per-bay power, setpoint and state come with the charger issues)
are null, never invented.
"""

from __future__ import annotations

from typing import Any

from edge.siteconf.model import SiteConfig


def bay_rows(config: SiteConfig, unavailable: list[str]) -> list[dict[str, Any]]:
    out = set(unavailable)
    return [
        {
            "id": b.id,
            "charger": b.charger,
            "power_w": None,
            "setpoint_w": None,
            "state": None,
            "available": b.id not in out,
        }
        for b in config.bays
    ]


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
