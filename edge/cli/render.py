"""Readable text for the CLI: tables and the status page. No I/O beyond returning strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edge.status import ControlRow, SiteStatus


def kw(watts: float | None) -> str:
    return "n/a" if watts is None else f"{watts / 1000:.1f} kW"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def control_line(c: ControlRow) -> str:
    """`Control   cycle p50 1.2 ms, p99 4.5 ms, CPU 0.8%` (`-` until there are samples)."""
    cpu = c.get("cpu_percent")
    return (
        f"Control   cycle p50 {ms(c.get('cycle_p50_ms'))}, p99 {ms(c.get('cycle_p99_ms'))}, "
        f"CPU {'-' if cpu is None else f'{cpu:.1f}%'}"
    )


MODE_NOTES = {
    "hold": " (a meter is stale: no bay rises; see `edge power`)",
    "fallback": " (a meter is lost: fallback power shared per bay; see `edge power`)",
}


def _mode_note(mode: str) -> str:
    return MODE_NOTES.get(mode, "")


def status_page(s: SiteStatus) -> str:
    site, daemon, bays = s["site"], s["daemon"], s["bays"]
    imported, limit = site["import_w"], site["import_limit_w"]
    share = "" if imported is None or not limit else f" ({100 * imported / limit:.0f}% of limit)"
    uplink = s["uplink"]
    connectors = bays["by_connector"]
    lines = [
        f"Site      {site['name']} ({site['id']})",
        f"Mode      {site['mode']}" + _mode_note(site["mode"]),
        f"Grid      import {kw(imported)} / limit {kw(limit)}{share}"
        f"   headroom {kw(site.get('headroom_w'))}",
        f"Generation {kw(site.get('generation_w'))}",
        f"Bays      {bays['total']} total ({connectors['CCS']} CCS, {connectors['MCS']} MCS)"
        + ("" if bays["busy"] is None else f", {bays['busy']} busy, {bays['free']} free")
        + (f", {bays['unknown']} unknown" if bays["unknown"] else ""),
        f"Devices   {s['devices']['ok']}/{s['devices']['total']} ok, {s['devices']['lost']} lost",
        f"Gate      {', '.join(s['gate']['lanes']) or '-'}: {s['gate']['state']}",
        f"Uplink    {uplink['state']}"
        + (f" ({uplink['broker']})" if uplink["broker"] else "")
        + ("" if uplink["buffer_depth"] is None else f", buffer {uplink['buffer_depth']}")
        + (f", last error: {uplink['last_error']}" if uplink.get("last_error") else ""),
        f"Daemon    v{daemon['version']} up {daemon['uptime_s']:.0f}s, "
        f"cycle {site.get('cycle', '-')}, "
        f"{daemon['failed_cycles']} failed, {daemon['overruns']} overruns",
    ]
    if "control" in s:
        lines.append(control_line(s["control"]))
    if uplink.get("out_of_service"):
        lines.insert(5, f"Out of service  {', '.join(uplink['out_of_service'])}")
    warnings = s.get("warnings") or []
    lines.append(f"Warnings  {len(warnings)}" if warnings else "Warnings  none")
    lines += [f"  ! {w}" for w in warnings]
    return "\n".join(lines)


def _node_line(n: dict[str, Any]) -> str:
    used = n.get("charging_w")
    return (
        f"{n['id']} {kw(used)} of {kw(n['available_w'])} budget"
        f" (limit {kw(n['limit_w'])}), headroom {kw(n['headroom_w'])}"
    )


def sharing_page(bays: dict[str, Any], power: dict[str, Any]) -> str:
    """The live view's power sharing (`edge bays` and `edge power` in brief): per limit node
    the charging against its budget and the headroom left, per bay its state, power drawn,
    setpoint written and what binds it (`limit:grid`: the grid limit holds it back)."""
    mode = power["mode"]
    lines = [f"Sharing   mode {mode}" + _mode_note(mode)]
    lines += [f"  {_node_line(n)}" for n in power["nodes"]]
    rows = [
        (
            b["id"],
            b["state"] or "-",
            b["kind"] or "-",
            kw(b["power_w"]),
            kw(b["setpoint_w"]),
            b["binding"] or "-",
        )
        for b in bays["bays"]
    ]
    if rows:
        head = ("BAY", "STATE", "KIND", "POWER", "SETPOINT", "BINDING")
        lines += ["", table(head, rows)]
    else:
        lines.append("  no control cycle yet")
    return "\n".join(lines)
