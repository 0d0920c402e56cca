"""The site status the CLI shows and the cloud receives: composed from the live parts.

Its shape is named here, row by row (the JSON the local API and the cloud carry); the
daemon adds its live parts (the uplink's own status, the control cycle's figures) to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from edge import __version__

if TYPE_CHECKING:  # the CLI imports the row types without the daemon's modules
    from edge.control_cycle import CycleResult
    from edge.drivers.fleet import Fleet
    from edge.siteconf.model import SiteConfig


class SiteRow(TypedDict):
    id: str
    name: str
    mode: str
    import_w: float | None
    import_limit_w: float | None
    headroom_w: float | None
    generation_w: float | None
    grid_limit_id: str
    configured_import_kw: float
    fallback_kw: float
    cycle: NotRequired[int]
    cycle_age_s: NotRequired[float]


class DaemonRow(TypedDict):
    version: str
    boot_id: str
    uptime_s: float
    config: str
    config_sha256: str
    cycles: int
    failed_cycles: int
    overruns: int


class BaysRow(TypedDict):
    total: int
    busy: int | None
    free: int | None
    unknown: int
    by_connector: dict[str, int]


class GateRow(TypedDict):
    lanes: list[str]
    state: str


class UplinkRow(TypedDict):
    configured: bool
    broker: str | None
    state: str
    buffer_depth: int | None
    last_error: NotRequired[str | None]
    alarms: NotRequired[dict[str, str]]
    out_of_service: NotRequired[list[str]]


class DevicesRow(TypedDict):
    total: int
    ok: int
    lost: int
    stalled: NotRequired[int]


class ControlRow(TypedDict, total=False):
    """The control cycle's duration over its recent window and the daemon's CPU share."""

    cycle_p50_ms: float | None
    cycle_p99_ms: float | None
    cycle_max_ms: float | None
    cpu_percent: float | None


class SiteStatus(TypedDict):
    site: SiteRow
    daemon: DaemonRow
    bays: BaysRow
    gate: GateRow
    uplink: UplinkRow
    devices: DevicesRow
    warnings: list[str]
    control: NotRequired[ControlRow]
    power: NotRequired[dict[str, Any]]  # the daemon's `power` page (`edge power`)


def one_line(config: SiteConfig, result: CycleResult) -> str:
    """The systemd STATUS= line."""
    a = result.assessment
    grid = "n/a" if a.import_w is None else f"{a.import_w / 1000:.1f}"
    return (
        f"{result.mode}: grid {grid}/{result.import_limit_w / 1000:g} kW, "
        f"gen {a.generation_w / 1000:.1f} kW, {len(result.warnings)} warning(s)"
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
    """The status as the daemon extends it (a plain dict: it adds its live parts)."""
    return dict(
        build_status(
            config,
            result,
            fleet.health(now),
            now=now,
            boot_id=boot_id,
            started_at=started_at,
            config_warnings=config_warnings,
            cycles=cycles,
        )
    )


def build_status(
    config: SiteConfig,
    result: CycleResult | None,
    devices: list[dict[str, Any]],
    *,
    now: float,
    boot_id: str,
    started_at: float,
    config_warnings: list[str],
    cycles: dict[str, int],
) -> SiteStatus:
    warnings = list(config_warnings)
    warnings += [
        f"device {d['device']}: {d['state']} ({d['last_error']})"
        for d in devices
        if d["state"] == "comm_lost"
    ]
    if result is not None:
        warnings = list(result.warnings) + warnings
    occupancy = _occupancy(config, result)
    return {
        "site": _site_row(config, result, now),
        "daemon": {
            "version": __version__,
            "boot_id": boot_id,
            "uptime_s": round(now - started_at, 1),
            "config": str(config.path),
            "config_sha256": config.digest[:16],
            "cycles": cycles.get("cycles", 0),
            "failed_cycles": cycles.get("failed_cycles", 0),
            "overruns": cycles.get("overruns", 0),
        },
        "bays": {
            "total": len(config.bays),
            "busy": occupancy[0],
            "free": occupancy[1],
            "unknown": occupancy[2],
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


def _occupancy(
    config: SiteConfig, result: CycleResult | None
) -> tuple[int | None, int | None, int]:
    """Busy (a truck on the bay) and free, from what the chargers report; unknown when no
    charger reports the bay (no backend, or its status is lost)."""
    rows = result.power.bays if result is not None and result.power is not None else ()
    seen = [r for r in rows if r["grade"] != "lost" and r["state"] is not None]
    if not seen:
        return None, None, len(config.bays)
    busy = sum(r["state"] not in ("available", "unavailable", "faulted") for r in seen)
    free = sum(r["state"] == "available" for r in seen)
    return busy, free, len(config.bays) - len(seen)


def _site_row(config: SiteConfig, result: CycleResult | None, now: float) -> SiteRow:
    root = config.root_limit()
    row: SiteRow = {
        "id": config.site_id,
        "name": config.name,
        "mode": "starting",
        "import_w": None,
        "import_limit_w": None,
        "headroom_w": None,
        "generation_w": None,
        "grid_limit_id": root.id,
        "configured_import_kw": root.import_kw,
        "fallback_kw": root.fallback_kw,
    }
    if result is not None:
        a = result.assessment
        row["mode"], row["import_w"] = result.mode, a.import_w
        row["import_limit_w"], row["headroom_w"] = result.import_limit_w, result.headroom_w
        row["generation_w"] = a.generation_w
        row["cycle"], row["cycle_age_s"] = result.number, round(now - result.at, 3)
    return row


def with_uplink(status: dict[str, Any], uplink: dict[str, Any]) -> dict[str, Any]:
    """`status` with the running uplink's view merged in; a buffer that cannot take records
    (disk full, read-only, unopenable) is a warning, not a quiet "buffer 0"."""
    merged = {**status, "uplink": {**status["uplink"], **uplink}}
    if uplink.get("buffer_fault"):
        merged["warnings"] = [*status["warnings"], f"uplink buffer: {uplink['buffer_fault']}"]
    return merged
