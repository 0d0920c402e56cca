"""Which connector of its charger's device each bay is (`bays[].connector_id`).

A setpoint reaches a bay only through its connector, so: a device with more than one
connector needs every bay to say which one it is (a silent default would send one truck's
power to the other); the number must exist on the device; and two bays of one charger
with a device cannot be the same connector (they would overwrite each other's setpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.siteconf.raw_items import Report, items
from edge.siteconf.schema import MAX_CONNECTORS


def check_connectors(
    data: Mapping[str, Any],
    chargers: Mapping[str, dict[str, Any]],
    devices: Mapping[str, dict[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    report: Report,
) -> None:
    taken: dict[tuple[str, int], str] = {}
    for i, bay in items(data, "bays"):
        charger = chargers.get(str(bay.get("charger")))
        device = devices.get(str(charger.get("device"))) if charger else None
        if charger is None or device is None:
            continue  # no device: nothing to address (the charger runs on its own)
        ocpp = "profile" not in device  # an OCPP charge point: its connectors are not known
        count = MAX_CONNECTORS if ocpp else _connectors(profiles.get(str(device.get("profile"))))
        given = bay.get("connector_id")
        shared = sum(1 for _, b in items(data, "bays") if b.get("charger") == bay.get("charger"))
        if "connector_id" not in bay and ocpp and shared > 1:
            report(
                ("bays", i, "connector_id"),
                f"missing: charger {bay['charger']!r} is OCPP charge point "
                f"{charger['device']!r} with {shared} bays; say which connector this bay is "
                "(1.6 connectorId, 2.0.1 EVSE id)",
            )
            continue
        if "connector_id" not in bay and count > 1 and not ocpp:
            report(
                ("bays", i, "connector_id"),
                f"missing: charger {bay['charger']!r} is device {charger['device']!r} with "
                f"{count} connectors; say which one this bay is (1-{count})",
            )
            continue
        number = given if isinstance(given, int) and not isinstance(given, bool) else 1
        if "connector_id" in bay and not isinstance(given, int):
            continue  # refused by the schema already
        if number > count:
            report(
                ("bays", i, "connector_id"),
                f"{number} does not exist: device {charger['device']!r} has {count} "
                f"connector{'s' if count > 1 else ''}",
            )
            continue
        first = taken.setdefault((str(bay["charger"]), number), str(bay.get("id")))
        if first != str(bay.get("id")):
            report(
                ("bays", i, "connector_id"),
                f"connector {number} of charger {bay['charger']!r} is already bay {first!r} "
                "(one bay per connector)",
            )


def _connectors(profile: Mapping[str, Any] | None) -> int:
    count = profile.get("connectors", 1) if profile is not None else 1
    return count if isinstance(count, int) and count >= 1 else 1
