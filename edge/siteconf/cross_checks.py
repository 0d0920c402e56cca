"""Checks across the site file: references, duplicates, and limits that cannot be met.

Works on the raw parsed TOML and tolerates any shape (the schema reports shape errors), so
one load reports structural and cross-reference errors together.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from typing import Any

from edge.siteconf.connector_checks import check_connectors
from edge.siteconf.device_checks import check_devices
from edge.siteconf.ocpp_checks import check_ocpp
from edge.siteconf.raw_items import Report, ids, items, kind, num, ref

# Highest DC power each connector standard is specified for (CCS: 1000 V x 500 A;
# MCS: 1250 V x 3000 A as in SAE J3271 / IEC 63379 drafts).
CONNECTOR_MAX_KW = {"CCS": 500.0, "MCS": 3750.0}


def check_site(
    data: Mapping[str, Any],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
    warn: Report,
) -> None:
    """Run every cross-check; `profiles` maps a profile name to {kind, points{name: access}}."""
    plots = ids(data, "plots", report)
    limits = ids(data, "limits", report)
    links = ids(data, "links", report)
    devices = ids(data, "devices", report)
    chargers = ids(data, "chargers", report)
    ids(data, "bays", report)
    ids(data, "gates", report)
    _check_control(data, report)
    check_devices(data, links, profiles, report)
    check_ocpp(data, links, report, warn)
    _check_limits(data, limits, plots, devices, report, warn)
    _check_chargers(data, limits, devices, report)
    _check_bays(data, plots, chargers, report)
    check_connectors(data, chargers, devices, profiles, report)
    _check_sessions(data, report)
    _check_gates(data, plots, devices, profiles, report)
    _check_fallback_budget(data, limits, report)
    from edge.drivers.line_plan import site_line_warnings  # noqa: PLC0415 (keeps siteconf light)

    site_line_warnings(data, profiles, warn)


def _check_control(data: Mapping[str, Any], report: Report) -> None:
    control = data.get("control")
    if not isinstance(control, dict):
        return
    stale = num(control, "stale_after_s", 3 * num(control, "period_s", 1.0))
    lost = num(control, "lost_after_s", 10.0)
    if lost <= stale:
        written = [k for k in ("lost_after_s", "stale_after_s", "period_s") if k in control]
        report(
            ("control", written[0]) if written else ("control",),
            f"lost_after_s ({lost:g} s) must be longer than stale_after_s ({stale:g} s): "
            "a value turns stale first, then lost",
        )
    if num(control, "plan_every_s") > 0 and importlib.util.find_spec("scipy") is None:
        report(
            ("control", "plan_every_s"),
            "the plan needs scipy (HiGHS), which is not installed: "
            "pip install 'edge-hub[plan]', or leave plan_every_s out",
        )
    roots = [n for _, n in items(data, "limits") if n.get("parent") is None]
    root_kw = num(roots[0], "import_kw", math.inf) if len(roots) == 1 else math.inf
    if num(control, "margin_kw") >= root_kw:
        report(
            ("control", "margin_kw"),
            f"{num(control, 'margin_kw'):g} kW leaves nothing of the grid connection's "
            f"{root_kw:g} kW: the margin must be smaller than the root limit",
        )


def _check_limits(
    data: Mapping[str, Any],
    limits: Mapping[str, dict[str, Any]],
    plots: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    report: Report,
    warn: Report,
) -> None:
    roots = [(i, node) for i, node in items(data, "limits") if node.get("parent") is None]
    if len(roots) != 1 and limits:
        named = ", ".join(f"limits[{i}] {node.get('id')!r}" for i, node in roots)
        report(
            ("limits", roots[1][0]) if roots else ("limits",),
            f"must have exactly one root (the grid connection), found {len(roots)}"
            + (f": {named} have no parent" if roots else ": every limit has a parent"),
        )
    for i, node in items(data, "limits"):
        parent = ref(report, ("limits", i, "parent"), node.get("parent"), limits, "limit")
        ref(report, ("limits", i, "plot"), node.get("plot"), plots, "plot")
        meter = ref(report, ("limits", i, "meter"), node.get("meter"), devices, "device")
        if meter is not None and kind(meter) not in (None, "meter", "inverter"):
            report(
                ("limits", i, "meter"),
                f"device {node['meter']!r} is a {meter.get('kind')}, not a meter",
            )
        # A bound that is missing or refused is inf here, so no check fires on it.
        if num(node, "fallback_kw") > num(node, "import_kw", math.inf):
            report(
                ("limits", i, "fallback_kw"),
                f"{num(node, 'fallback_kw'):g} kW exceeds this node's import_kw "
                f"{num(node, 'import_kw'):g} kW; the fallback must be the more conservative one",
            )
        if parent is not None and num(node, "import_kw") > num(parent, "import_kw", math.inf):
            warn(
                ("limits", i, "import_kw"),
                f"{num(node, 'import_kw'):g} kW can never be reached: parent "
                f"{node['parent']!r} allows {num(parent, 'import_kw'):g} kW",
            )
        if node.get("parent") is None and "meter" not in node:
            warn(("limits", i, "meter"), "root limit has no meter: control will run on fallback_kw")
        if node.get("parent") is not None and "export_kw" in node:
            warn(
                ("limits", i, "export_kw"),
                "not enforced: export control curtails inverters at the root's export_kw only",
            )
    _check_cycles(limits, data, report)


def _check_cycles(
    limits: Mapping[str, dict[str, Any]], data: Mapping[str, Any], report: Report
) -> None:
    for i, node in items(data, "limits"):
        seen = {node.get("id")}
        parent = node.get("parent")
        while isinstance(parent, str) and parent in limits:
            if parent in seen:
                report(("limits", i, "parent"), f"limit {node.get('id')!r} is part of a cycle")
                break
            seen.add(parent)
            parent = limits[parent].get("parent")


def _check_chargers(
    data: Mapping[str, Any],
    limits: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    report: Report,
) -> None:
    for i, ch in items(data, "chargers"):
        ref(report, ("chargers", i, "limit"), ch.get("limit"), limits, "limit")
        dev = ref(report, ("chargers", i, "device"), ch.get("device"), devices, "device")
        if dev is not None and kind(dev) not in (None, "charger"):
            report(
                ("chargers", i, "device"),
                f"device {ch['device']!r} is a {dev.get('kind')}, not a charger",
            )
        max_kw = num(ch, "max_power_kw", math.inf)
        if num(ch, "min_power_kw") > max_kw:
            report(("chargers", i, "min_power_kw"), f"exceeds max_power_kw {max_kw:g}")
        if num(ch, "fallback_kw") > max_kw:
            report(("chargers", i, "fallback_kw"), f"exceeds max_power_kw {max_kw:g}")
        pause, min_kw = num(ch, "pause_kw"), num(ch, "min_power_kw")
        if pause > max_kw or 0 < min_kw < pause:
            report(
                ("chargers", i, "pause_kw"),
                f"{pause:g} kW must be below the running range (min_power_kw {min_kw:g}, "
                f"max_power_kw {max_kw:g}): it is the limit that only keeps a session alive",
            )


def _check_bays(
    data: Mapping[str, Any],
    plots: Mapping[str, Any],
    chargers: Mapping[str, dict[str, Any]],
    report: Report,
) -> None:
    for i, bay in items(data, "bays"):
        ref(report, ("bays", i, "plot"), bay.get("plot"), plots, "plot")
        charger = ref(report, ("bays", i, "charger"), bay.get("charger"), chargers, "charger")
        max_kw = num(bay, "max_power_kw")
        connector_max = CONNECTOR_MAX_KW.get(str(bay.get("connector")))
        if connector_max is not None and max_kw > connector_max:
            report(
                ("bays", i, "max_power_kw"),
                f"{max_kw:g} kW exceeds what a {bay['connector']} connector carries "
                f"({connector_max:g} kW)",
            )
        if charger is not None and max_kw > num(charger, "max_power_kw", math.inf):
            report(
                ("bays", i, "max_power_kw"),
                f"{max_kw:g} kW cannot be met: charger {bay['charger']!r} delivers at most "
                f"{num(charger, 'max_power_kw'):g} kW",
            )


def _check_sessions(data: Mapping[str, Any], report: Report) -> None:
    sessions = data.get("sessions")
    if not isinstance(sessions, dict):
        return
    start, end = sessions.get("overnight_from"), sessions.get("overnight_until")
    if isinstance(start, str) and start == end:
        report(
            ("sessions", "overnight_until"),
            f"{end} is also overnight_from: the overnight arrival window would be empty",
        )


GATE_INPUTS = (
    "vehicle_sensor",
    "safety_loop",
    "photocell",
    "position_open",
    "position_closed",
    "hold_input",
    "detector_fault",
)
# What each reader kind needs and must not have.
READER_KEYS = {
    "anpr": (("endpoint", "secret_file"), ("port", "baud")),
    "qr": (("port",), ("endpoint", "secret_file")),
    "rfid": (("port",), ("endpoint", "secret_file")),
}


def _check_gates(
    data: Mapping[str, Any],
    plots: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
) -> None:
    ports: dict[str, str] = {}
    for i, gate in items(data, "gates"):
        ref(report, ("gates", i, "plot"), gate.get("plot"), plots, "plot")
        point_check(report, ("gates", i, "barrier_output"), gate, devices, profiles, True)
        for key in GATE_INPUTS:
            point_check(report, ("gates", i, key), gate, devices, profiles, False)
        if "position_open" in gate and gate.get("position_open") == gate.get("position_closed"):
            report(("gates", i, "position_closed"), "must be another input than position_open")
        for key, other in (
            ("position_open", "position_closed"),
            ("position_closed", "position_open"),
        ):
            if key in gate and other not in gate:  # one limit alone: the boom never "arrives"
                report(("gates", i, key), f"needs {other} too (both limit switches, or neither)")
        _check_readers(report, i, gate, ports)
    for i, bay in items(data, "bays"):
        point_check(report, ("bays", i, "occupancy_sensor"), bay, devices, profiles, False)


def _check_readers(report: Report, i: int, gate: Mapping[str, Any], ports: dict[str, str]) -> None:
    """Each reader has what its kind needs; a serial port serves one reader only."""
    for j, reader in items(gate, "readers"):
        where = ("gates", i, "readers", j)
        needs, refuses = READER_KEYS.get(str(reader.get("kind")), ((), ()))
        for key in needs:
            if key not in reader:
                report((*where, key), f"missing (needed by {reader['kind']} readers)")
        for key in refuses:
            if key in reader:
                report((*where, key), f"not used by {reader['kind']} readers")
        port = reader.get("port")
        if isinstance(port, str):
            owner = f"gates[{i}].readers[{j}]"
            if port in ports:
                report((*where, "port"), f"{port} is already used by {ports[port]}")
            ports.setdefault(port, owner)


def point_check(
    report: Report,
    path: tuple[str, int, str],
    item: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    writable: bool,
) -> None:
    """A `device:point` reference names a device whose profile has the point (writable for
    outputs)."""
    point_ref = item.get(path[-1])
    if not isinstance(point_ref, str) or ":" not in point_ref:
        return
    dev_id, point = point_ref.split(":", 1)
    dev = ref(report, path, dev_id, devices, "device")
    if dev is None:
        return
    points = profiles.get(str(dev.get("profile")), {}).get("points", {})
    if dev.get("profile") in profiles and point not in points:
        known = ", ".join(sorted(points)) or "none"
        report(path, f"profile {dev['profile']!r} has no point {point!r} (has: {known})")
    elif writable and point in points and points[point] != "rw":
        report(path, f"point {point_ref!r} is read-only; a barrier needs a writable output")


def _check_fallback_budget(
    data: Mapping[str, Any], limits: Mapping[str, dict[str, Any]], report: Report
) -> None:
    """If the controller dies, every cabinet reverts to its own fallback power; together they
    must still fit under every limit above them, or a controller crash can trip the site."""
    totals: dict[str, float] = {}
    for _, ch in items(data, "chargers"):
        node_id = ch.get("limit")
        hops = 0
        while isinstance(node_id, str) and node_id in limits and hops <= len(limits):
            totals[node_id] = totals.get(node_id, 0.0) + num(ch, "fallback_kw")
            node_id = limits[node_id].get("parent")
            hops += 1
    for i, node in items(data, "limits"):
        total = totals.get(str(node.get("id")), 0.0)
        if total > num(node, "import_kw", math.inf):
            report(
                ("limits", i, "import_kw"),
                f"chargers below this node fall back to {total:g} kW together when the controller "
                f"is silent, more than its {num(node, 'import_kw'):g} kW; lower their fallback_kw",
            )
