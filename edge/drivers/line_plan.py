"""What a site's poll plan asks of each RS-485 line, and the warning when it asks too much.

Pure: it works on read plans and on the raw site table, so `edge config check`, the loader
and the fleet all get the same figure. The arithmetic is in `line_capacity`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from edge.drivers.line_capacity import Framing, Transaction, utilisation
from edge.drivers.modbus_profile import Table
from edge.drivers.read_plan import ReadBlock

Warn = Callable[[tuple[str | int, ...], str], None]
# One read as a profile index records it: (table, registers or bits, period_s).
PlannedRead = tuple[str, int, float]


def planned_reads(blocks: Iterable[ReadBlock]) -> list[PlannedRead]:
    return [(b.table.value, b.count, b.period_s) for b in blocks]


def scaled(reads: list[PlannedRead], poll_s: float | None) -> list[tuple[Transaction, float]]:
    """A device's reads with its site `poll_s` applied the way `plan_reads` applies it."""
    if not reads:
        return []
    fastest = min(period for _, _, period in reads)
    factor = 1.0 if poll_s is None else poll_s / fastest
    return [(Transaction(Table(t), count), period * factor) for t, count, period in reads]


def framing_of(link: Mapping[str, Any]) -> Framing:
    return Framing(
        int(link.get("baud", 9600)), str(link.get("parity", "E")), int(link.get("stopbits", 1))
    )


def describe(framing: Framing) -> str:
    return f"{framing.baud} baud 8{framing.parity}{framing.stopbits}"


def site_line_warnings(
    data: Mapping[str, Any], profiles: Mapping[str, Mapping[str, Any]], warn: Warn
) -> None:
    """Warn for every modbus-rtu link whose devices' poll plan needs more than the line."""
    links = data.get("links")
    devices = data.get("devices")
    if not isinstance(links, list) or not isinstance(devices, list):
        return
    for index, link in enumerate(links):
        if not isinstance(link, dict) or link.get("type") != "modbus-rtu":
            continue
        plan: list[tuple[Transaction, float]] = []
        for dev in devices:
            if not isinstance(dev, dict) or dev.get("link") != link.get("id"):
                continue
            reads = profiles.get(str(dev.get("profile")), {}).get("reads", [])
            poll = dev.get("poll_s")
            plan += scaled(list(reads), float(poll) if isinstance(poll, int | float) else None)
        try:
            framing = framing_of(link)
            load = utilisation(framing, plan)
        except (TypeError, ValueError, ZeroDivisionError):
            continue  # the schema reports the bad baud/parity itself
        if load > 1.0:
            warn(
                ("links", index, "baud"),
                f"the poll plan needs {100 * load:.0f}% of this line at {describe(framing)} "
                f"({sum(1 / p for _, p in plan):.1f} reads/s); it cannot keep every period: "
                "raise the baud rate, poll less often (poll_s) or split the devices over lines",
            )
