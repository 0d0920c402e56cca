"""The `status` page of a running daemon: the site, its cycle counters, devices, gates, power."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.power_report import bays_page, power_page
from edge.status import site_status, with_uplink

if TYPE_CHECKING:
    from edge.runtime import Daemon


def daemon_status(d: Daemon) -> dict[str, Any]:
    """`edge status`: the site page plus the daemon's own counters, warnings and parts."""
    cycle = d.cycle
    counts = {
        "cycles": cycle.completed if cycle else 0,
        "failed_cycles": cycle.failed if cycle else 0,
        "overruns": cycle.overruns if cycle else 0,
    }
    status = site_status(
        d.config,
        cycle.latest if cycle else None,
        d.fleet,
        now=d.clock.monotonic(),
        boot_id=d.boot_id,
        started_at=d.started_at,
        config_warnings=d.config_warnings,
        cycles=counts,
    )
    if d.uplink is not None:
        status = with_uplink(status, d.uplink.status())
    now = d.clock.monotonic()
    stalled = [d for d in d.fleet.devices if d.polls_stalled(now)]
    status["devices"]["stalled"] = len(stalled)
    status["warnings"] += [
        f"device {d.id}: polls stalled, none ended for {d.poll_age(now):.0f} s" for d in stalled
    ]
    status["control"] = {
        "period_s": d.config.control.period_s,
        **counts,
        "sink_failures": cycle.sink_failures if cycle else 0,
        **(cycle.times.summary() if cycle else {}),
        "cpu_percent": d.cpu.percent(),
        "safe_outputs": [o.name for o in d.safe_state_hooks],
    }
    status["bays"]["out_of_service"] = list(d.availability.view().unavailable_bays)
    if d.gates is not None:
        status["gate"]["state"] = d.gates.summary()  # lanes, decisions, the last one
    status["power"] = d.power_status()
    status["warnings"] += d.availability.warnings + d.bookings.warnings + d.limits.warnings
    return status


def power_status(d: Daemon) -> dict[str, Any]:
    """`edge power`: the budget per limit node, the writes, the operator limits."""
    latest = d.cycle.latest if d.cycle is not None else None
    return power_page(
        d.config,
        latest.power if latest is not None else None,
        latest.mode if latest is not None else "starting",
        d.power,
        d.limits.rows(d.clock.wall()),
        d.clock.wall(),
    )


def bays_status(d: Daemon) -> dict[str, Any]:
    """`edge bays`: per bay its state, session, power, setpoint and what binds it."""
    latest = d.cycle.latest if d.cycle is not None else None
    return bays_page(d.config, latest.power if latest is not None else None)
