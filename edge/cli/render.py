"""Readable text for the CLI: tables and the status page. No I/O beyond returning strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


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


def status_page(s: dict[str, Any]) -> str:
    site, daemon, bays = s["site"], s["daemon"], s["bays"]
    limit = site.get("import_limit_w")
    share = ""
    if site.get("import_w") is not None and limit:
        share = f" ({100 * site['import_w'] / limit:.0f}% of limit)"
    uplink = s["uplink"]
    connectors = bays["by_connector"]
    lines = [
        f"Site      {site['name']} ({site['id']})",
        f"Mode      {site['mode']}",
        f"Grid      import {kw(site.get('import_w'))} / limit {kw(limit)}{share}"
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
    if uplink.get("out_of_service"):
        lines.insert(5, f"Out of service  {', '.join(uplink['out_of_service'])}")
    warnings = s.get("warnings") or []
    lines.append(f"Warnings  {len(warnings)}" if warnings else "Warnings  none")
    lines += [f"  ! {w}" for w in warnings]
    return "\n".join(lines)
