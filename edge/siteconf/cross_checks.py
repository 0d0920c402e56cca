"""Checks across the site file: references, duplicates, and limits that cannot be met.

Works on the raw parsed TOML and tolerates any shape (the schema reports shape errors), so
one load reports structural and cross-reference errors together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from edge.siteconf.issues import KeyPath

# Highest DC power each connector standard is specified for (CCS: 1000 V x 500 A;
# MCS: 1250 V x 3000 A as in SAE J3271 / IEC 63379 drafts).
CONNECTOR_MAX_KW = {"CCS": 500.0, "MCS": 3750.0}
MODBUS_LINKS = {"modbus-tcp", "modbus-rtu"}

Report = Callable[[KeyPath, str], None]


def _items(data: Mapping[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _ids(data: Mapping[str, Any], key: str, report: Report) -> dict[str, dict[str, Any]]:
    """Index a list of tables by id, reporting duplicates."""
    seen: dict[str, dict[str, Any]] = {}
    for index, item in _items(data, key):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in seen:
            report((key, index, "id"), f"duplicate id {ident!r} (ids must be unique in {key})")
        else:
            seen[ident] = item
    return seen


def _num(item: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """A number the schema accepted, else `default` (the schema reports the bad value)."""
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        number = float(value)
    except OverflowError:
        return default
    return number if math.isfinite(number) else default


def _kind(item: Mapping[str, Any]) -> str | None:
    """A device's kind, when it has a valid one (a refused kind is reported already)."""
    kind = item.get("kind")
    return kind if isinstance(kind, str) else None


def _ref(
    report: Report, path: KeyPath, value: Any, known: Mapping[str, Any], what: str
) -> dict[str, Any] | None:
    if value is None or not isinstance(value, str):
        return None
    if value not in known:
        choices = ", ".join(sorted(known)) or "none defined"
        report(path, f"unknown {what} {value!r} (known: {choices})")
        return None
    found = known[value]
    return found if isinstance(found, dict) else None


def check_site(
    data: Mapping[str, Any],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
    warn: Report,
) -> None:
    """Run every cross-check; `profiles` maps a profile name to {kind, points{name: access}}."""
    plots = _ids(data, "plots", report)
    limits = _ids(data, "limits", report)
    links = _ids(data, "links", report)
    devices = _ids(data, "devices", report)
    chargers = _ids(data, "chargers", report)
    _ids(data, "bays", report)
    _ids(data, "gates", report)
    _check_control(data, report)
    _check_devices(data, links, profiles, report)
    _check_limits(data, limits, plots, devices, report, warn)
    _check_chargers(data, limits, devices, report)
    _check_bays(data, plots, chargers, report)
    _check_gates(data, plots, devices, profiles, report)
    _check_fallback_budget(data, limits, report)
    from edge.drivers.line_plan import site_line_warnings  # noqa: PLC0415 (keeps siteconf light)

    site_line_warnings(data, profiles, warn)


def _check_devices(
    data: Mapping[str, Any],
    links: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
) -> None:
    for i, dev in _items(data, "devices"):
        link = _ref(report, ("devices", i, "link"), dev.get("link"), links, "link")
        profile = _ref(report, ("devices", i, "profile"), dev.get("profile"), profiles, "profile")
        if profile is not None and dev.get("kind") not in (None, profile.get("kind")):
            report(
                ("devices", i, "kind"),
                f"{dev.get('kind')!r} does not match profile {dev.get('profile')!r}, "
                f"which describes a {profile.get('kind')}",
            )
        if link is not None:
            link_type = str(
                link.get("protocol") if link.get("type") == "simulated" else link.get("type")
            )
            if link_type in MODBUS_LINKS and "unit" not in dev:
                report(
                    ("devices", i, "unit"), f"missing: a device on {link_type} link needs a unit id"
                )
            _check_medium(("devices", i, "profile"), link, profile, report)
            if dev.get("unit") == 0 and str(link.get("type")) in _NO_UNIT_0:
                report(
                    ("devices", i, "unit"),
                    f"0 on a {link.get('type')} link: {_NO_UNIT_0[str(link.get('type'))]} (1-247)",
                )
    _check_units(data, report)
    for i, link in _items(data, "links"):
        _check_link_params(i, link, report)


# Which profile protocols each medium carries (a simulated link serves Modbus TCP).
_MEDIUM_CARRIES = {
    "modbus-tcp": ("modbus", "sunspec"),
    "modbus-rtu": ("modbus", "sunspec"),
    "simulated": ("modbus", "sunspec"),
    "can": ("can",),
    "gpio": ("gpio",),
}


def _check_medium(
    path: KeyPath, link: Mapping[str, Any], profile: Mapping[str, Any] | None, report: Report
) -> None:
    carries = _MEDIUM_CARRIES.get(str(link.get("type")))
    protocol = profile.get("protocol") if profile is not None else None
    if carries is not None and protocol is not None and protocol not in carries:
        report(
            path,
            f"a {protocol} profile cannot be on a {link.get('type')} link "
            f"(it carries {', '.join(carries)} devices)",
        )


def _check_units(data: Mapping[str, Any], report: Report) -> None:
    """One unit id per device on a link: two devices on one id would read each other's values."""
    owners: dict[tuple[str, int], str] = {}
    for i, dev in _items(data, "devices"):
        link, unit = dev.get("link"), dev.get("unit")
        if not isinstance(link, str) or not isinstance(unit, int):
            continue
        first = owners.setdefault((link, unit), str(dev.get("id")))
        if first != str(dev.get("id")):
            report(
                ("devices", i, "unit"),
                f"unit {unit} on link {link!r} is already device {first!r} "
                "(one device per unit id)",
            )


def _check_control(data: Mapping[str, Any], report: Report) -> None:
    control = data.get("control")
    if not isinstance(control, dict):
        return
    stale = _num(control, "stale_after_s", 3 * _num(control, "period_s", 1.0))
    lost = _num(control, "lost_after_s", 10.0)
    if lost <= stale:
        written = [k for k in ("lost_after_s", "stale_after_s", "period_s") if k in control]
        report(
            ("control", written[0]) if written else ("control",),
            f"lost_after_s ({lost:g} s) must be longer than stale_after_s ({stale:g} s): "
            "a value turns stale first, then lost",
        )


# Unit 0 is Modbus's broadcast address: no RTU device replies to it, and the simulator keeps it
# for the "no such unit" answer.
_NO_UNIT_0 = {
    "modbus-rtu": "0 is the broadcast address, which no device answers",
    "simulated": "the simulator keeps 0 for ids no device has",
}

_LINK_NEEDS = {
    "modbus-tcp": ("host", "port"),
    "modbus-rtu": ("port", "baud"),
    "can": ("channel",),
    "simulated": ("protocol",),
}


def _check_link_params(index: int, link: Mapping[str, Any], report: Report) -> None:
    for key in _LINK_NEEDS.get(str(link.get("type")), ()):
        if key not in link:
            report(("links", index, key), f"missing: a {link.get('type')} link needs {key!r}")
    port = link.get("port")
    if (
        link.get("type") == "modbus-tcp"
        and port is not None
        and (not isinstance(port, int) or not 1 <= port <= 65535)
    ):
        report(("links", index, "port"), f"must be a TCP port 1..65535, got {port!r}")
    if link.get("type") == "modbus-rtu" and port is not None and not isinstance(port, str):
        report(("links", index, "port"), f"must be a serial device path, got {port!r}")


def _check_limits(
    data: Mapping[str, Any],
    limits: Mapping[str, dict[str, Any]],
    plots: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    report: Report,
    warn: Report,
) -> None:
    roots = [(i, node) for i, node in _items(data, "limits") if node.get("parent") is None]
    if len(roots) != 1 and limits:
        named = ", ".join(f"limits[{i}] {node.get('id')!r}" for i, node in roots)
        report(
            ("limits", roots[1][0]) if roots else ("limits",),
            f"must have exactly one root (the grid connection), found {len(roots)}"
            + (f": {named} have no parent" if roots else ": every limit has a parent"),
        )
    for i, node in _items(data, "limits"):
        parent = _ref(report, ("limits", i, "parent"), node.get("parent"), limits, "limit")
        _ref(report, ("limits", i, "plot"), node.get("plot"), plots, "plot")
        meter = _ref(report, ("limits", i, "meter"), node.get("meter"), devices, "device")
        if meter is not None and _kind(meter) not in (None, "meter", "inverter"):
            report(
                ("limits", i, "meter"),
                f"device {node['meter']!r} is a {meter.get('kind')}, not a meter",
            )
        # A bound that is missing or refused is inf here, so no check fires on it.
        if _num(node, "fallback_kw") > _num(node, "import_kw", math.inf):
            report(
                ("limits", i, "fallback_kw"),
                f"{_num(node, 'fallback_kw'):g} kW exceeds this node's import_kw "
                f"{_num(node, 'import_kw'):g} kW; the fallback must be the more conservative one",
            )
        if parent is not None and _num(node, "import_kw") > _num(parent, "import_kw", math.inf):
            warn(
                ("limits", i, "import_kw"),
                f"{_num(node, 'import_kw'):g} kW can never be reached: parent "
                f"{node['parent']!r} allows {_num(parent, 'import_kw'):g} kW",
            )
        if node.get("parent") is None and "meter" not in node:
            warn(("limits", i, "meter"), "root limit has no meter: control will run on fallback_kw")
    _check_cycles(limits, data, report)


def _check_cycles(
    limits: Mapping[str, dict[str, Any]], data: Mapping[str, Any], report: Report
) -> None:
    for i, node in _items(data, "limits"):
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
    for i, ch in _items(data, "chargers"):
        _ref(report, ("chargers", i, "limit"), ch.get("limit"), limits, "limit")
        dev = _ref(report, ("chargers", i, "device"), ch.get("device"), devices, "device")
        if dev is not None and _kind(dev) not in (None, "charger"):
            report(
                ("chargers", i, "device"),
                f"device {ch['device']!r} is a {dev.get('kind')}, not a charger",
            )
        max_kw = _num(ch, "max_power_kw", math.inf)
        if _num(ch, "min_power_kw") > max_kw:
            report(("chargers", i, "min_power_kw"), f"exceeds max_power_kw {max_kw:g}")
        if _num(ch, "fallback_kw") > max_kw:
            report(("chargers", i, "fallback_kw"), f"exceeds max_power_kw {max_kw:g}")


def _check_bays(
    data: Mapping[str, Any],
    plots: Mapping[str, Any],
    chargers: Mapping[str, dict[str, Any]],
    report: Report,
) -> None:
    for i, bay in _items(data, "bays"):
        _ref(report, ("bays", i, "plot"), bay.get("plot"), plots, "plot")
        charger = _ref(report, ("bays", i, "charger"), bay.get("charger"), chargers, "charger")
        max_kw = _num(bay, "max_power_kw")
        connector_max = CONNECTOR_MAX_KW.get(str(bay.get("connector")))
        if connector_max is not None and max_kw > connector_max:
            report(
                ("bays", i, "max_power_kw"),
                f"{max_kw:g} kW exceeds what a {bay['connector']} connector carries "
                f"({connector_max:g} kW)",
            )
        if charger is not None and max_kw > _num(charger, "max_power_kw", math.inf):
            report(
                ("bays", i, "max_power_kw"),
                f"{max_kw:g} kW cannot be met: charger {bay['charger']!r} delivers at most "
                f"{_num(charger, 'max_power_kw'):g} kW",
            )


def _check_gates(
    data: Mapping[str, Any],
    plots: Mapping[str, Any],
    devices: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
) -> None:
    for i, gate in _items(data, "gates"):
        _ref(report, ("gates", i, "plot"), gate.get("plot"), plots, "plot")
        for key, writable in (
            ("barrier_output", True),
            ("vehicle_sensor", False),
            ("safety_loop", False),
        ):
            ref = gate.get(key)
            if not isinstance(ref, str) or ":" not in ref:
                continue
            dev_id, point = ref.split(":", 1)
            dev = _ref(report, ("gates", i, key), dev_id, devices, "device")
            if dev is None:
                continue
            points = profiles.get(str(dev.get("profile")), {}).get("points", {})
            if dev.get("profile") in profiles and point not in points:
                known = ", ".join(sorted(points)) or "none"
                report(
                    ("gates", i, key),
                    f"profile {dev['profile']!r} has no point {point!r} (has: {known})",
                )
            elif writable and point in points and points[point] != "rw":
                report(
                    ("gates", i, key),
                    f"point {ref!r} is read-only; a barrier needs a writable output",
                )


def _check_fallback_budget(
    data: Mapping[str, Any], limits: Mapping[str, dict[str, Any]], report: Report
) -> None:
    """If the controller dies, every cabinet reverts to its own fallback power; together they
    must still fit under every limit above them, or a controller crash can trip the site."""
    totals: dict[str, float] = {}
    for _, ch in _items(data, "chargers"):
        node_id = ch.get("limit")
        hops = 0
        while isinstance(node_id, str) and node_id in limits and hops <= len(limits):
            totals[node_id] = totals.get(node_id, 0.0) + _num(ch, "fallback_kw")
            node_id = limits[node_id].get("parent")
            hops += 1
    for i, node in _items(data, "limits"):
        total = totals.get(str(node.get("id")), 0.0)
        if total > _num(node, "import_kw", math.inf):
            report(
                ("limits", i, "import_kw"),
                f"chargers below this node fall back to {total:g} kW together when the controller "
                f"is silent, more than its {_num(node, 'import_kw'):g} kW; lower their fallback_kw",
            )
