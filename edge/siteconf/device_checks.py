"""Checks of devices on their links: unit ids, the medium each profile needs, link settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.siteconf.issues import KeyPath
from edge.siteconf.raw_items import Report, items, ref

MODBUS_LINKS = {"modbus-tcp", "modbus-rtu"}
# Unit 0 is Modbus's broadcast address: no RTU device replies to it, and the simulator keeps it
# for the "no such unit" answer.
_NO_UNIT_0 = {
    "modbus-rtu": "0 is the broadcast address, which no device answers",
    "simulated": "the simulator keeps 0 for ids no device has",
}


def check_devices(
    data: Mapping[str, Any],
    links: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
) -> None:
    for i, dev in items(data, "devices"):
        link = ref(report, ("devices", i, "link"), dev.get("link"), links, "link")
        profile = ref(report, ("devices", i, "profile"), dev.get("profile"), profiles, "profile")
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
    for i, link in items(data, "links"):
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
    for i, dev in items(data, "devices"):
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
