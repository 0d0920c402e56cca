"""The site status the CLI shows and the cloud receives: composed from the live parts."""

from __future__ import annotations

from typing import Any

from edge import __version__
from edge.control_cycle import CycleResult
from edge.drivers.fleet import Fleet
from edge.siteconf.model import SiteConfig


def one_line(config: SiteConfig, result: CycleResult) -> str:
    """The systemd STATUS= line."""
    a = result.assessment
    grid = "n/a" if a.import_w is None else f"{a.import_w / 1000:.1f}"
    return (
        f"{a.mode.value}: grid {grid}/{a.import_limit_w / 1000:g} kW, "
        f"gen {a.generation_w / 1000:.1f} kW, {len(a.warnings)} warning(s)"
    )


def site_status(
    config: SiteConfig,
    result: CycleResult | None,
    fleet: Fleet,
    *,
    now: float,
    boot_id: str,
    started_at: float,
    config_warnings: list[str],
    cycles: dict[str, int],
) -> dict[str, Any]:
    devices = fleet.health(now)
    warnings = list(config_warnings)
    warnings += [
        f"device {d['device']}: {d['state']} ({d['last_error']})"
        for d in devices
        if d["state"] == "comm_lost"
    ]
    site: dict[str, Any] = {
        "mode": "starting",
        "import_w": None,
        "import_limit_w": None,
        "headroom_w": None,
        "generation_w": None,
    }
    if result is not None:
        a = result.assessment
        site = {
            "mode": a.mode.value,
            "import_w": a.import_w,
            "import_limit_w": a.import_limit_w,
            "headroom_w": a.headroom_w,
            "generation_w": a.generation_w,
            "cycle": result.number,
            "cycle_age_s": round(now - result.at, 3),
        }
        warnings = list(a.warnings) + warnings
    root = config.root_limit()
    return {
        "site": {
            "id": config.site_id,
            "name": config.name,
            **site,
            "grid_limit_id": root.id,
            "configured_import_kw": root.import_kw,
            "fallback_kw": root.fallback_kw,
        },
        "daemon": {
            "version": __version__,
            "boot_id": boot_id,
            "uptime_s": round(now - started_at, 1),
            "config": str(config.path),
            "config_sha256": config.digest[:16],
            **cycles,
        },
        "bays": {
            "total": len(config.bays),
            # Bay occupancy comes from chargers (OCPP/Modbus issue); until then it is unknown.
            "busy": None,
            "free": None,
            "unknown": len(config.bays),
            "by_connector": {
                c: sum(1 for b in config.bays if b.connector.value == c) for c in ("CCS", "MCS")
            },
        },
        "gate": {
            "lanes": [g.id for g in config.gates],
            "state": "not built yet" if config.gates else "none",
        },
        "uplink": {
            "configured": config.uplink.enabled,
            "broker": config.uplink.broker or None,
            "state": "not built yet" if config.uplink.enabled else "disabled",
            "buffer_depth": None,
        },
        "devices": {
            "total": len(devices),
            "ok": sum(d["state"] == "ok" for d in devices),
            "lost": sum(d["state"] == "comm_lost" for d in devices),
        },
        "warnings": warnings,
    }


def with_uplink(status: dict[str, Any], uplink: dict[str, Any]) -> dict[str, Any]:
    """`status` with the running uplink's view merged in; a buffer that cannot take records
    (disk full, read-only, unopenable) is a warning, not a quiet "buffer 0"."""
    merged = {**status, "uplink": {**status["uplink"], **uplink}}
    if uplink.get("buffer_fault"):
        merged["warnings"] = [*status["warnings"], f"uplink buffer: {uplink['buffer_fault']}"]
    return merged
