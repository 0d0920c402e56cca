"""`edge bays` and `edge power`: what the power controller decided this period.

`edge bays`: per bay its state, session kind, power now, setpoint written, what binds it,
energy delivered and wanted, departure (site time) and slack. `edge power`: per limit node
its limit, base load, solar, wind, margin, budget, headroom and mode (normal, hold,
fallback; docs/operations.md explains them). Both take `--json`.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.cli.daemon_call import add_read_command, ask
from edge.cli.render import kw, table

MODE_MEANING = {
    "normal": "meter fresh: budget = limit - measured base load - margin",
    "hold": "meter stale: no bay rises, decreases still happen; budget from the last base load",
    "fallback": "meter lost or missing: the node's fallback_kw, shared equally per bay",
    "starting": "before the first control cycle",
}


def register(sub: Any) -> None:
    add_read_command(
        sub, "bays", "per bay: state, session, power, setpoint, what binds it", cmd_bays
    )
    add_read_command(
        sub, "power", "per limit node: limit, base load, budget, headroom, mode", cmd_power
    )


def cmd_bays(args: argparse.Namespace) -> int:
    return ask(args, "bays", bays_page)


def cmd_power(args: argparse.Namespace) -> int:
    return ask(args, "power", power_page)


def kwh(wh: float | None) -> str:
    return "-" if wh is None else f"{wh / 1000:.0f}"


def _departure(epoch: float | None, source: str | None, tz: str) -> str:
    if epoch is None:
        return "-"
    at = datetime.fromtimestamp(epoch, ZoneInfo(tz)).strftime("%H:%M")
    return at if source in (None, "default") else f"{at} ({source})"


def _slack(s: float | None) -> str:
    if s is None:
        return "-"
    return f"{s / 60:.0f} min" if abs(s) < 48 * 3600 else f"{s / 3600:.0f} h"


def bays_page(data: dict[str, Any]) -> str:
    tz = data["timezone"]
    if not data["bays"]:
        return "no control cycle yet"
    rows = [
        (
            b["id"],
            b["state"] or "-",
            b["kind"] or "-",
            kw(b["power_w"]),
            kw(b["setpoint_w"]),
            b["binding"],
            f"{kwh(b['energy_delivered_wh'])}/{kwh(b['energy_wanted_wh'])}",
            _departure(b["departure"], b["departure_from"], tz),
            _slack(b["slack_s"]),
        )
        for b in data["bays"]
    ]
    head = (
        "BAY",
        "STATE",
        "KIND",
        "POWER",
        "SETPOINT",
        "BINDING",
        "KWH DONE/WANTED",
        "LEAVES",
        "SLACK",
    )
    return table(head, rows) + f"\n(times in {tz}; a default estimate is unmarked)"


def power_page(data: dict[str, Any]) -> str:
    rows = [
        (
            n["id"],
            n["mode"],
            kw(n["limit_w"]),
            kw(n["base_w"]),
            kw(n["solar_w"]) if n["solar_w"] is not None else "-",
            kw(n["wind_w"]) if n["wind_w"] is not None else "-",
            kw(n["margin_w"]),
            kw(n["available_w"]),
            kw(n["headroom_w"]),
        )
        for n in data["nodes"]
    ]
    head = ("NODE", "MODE", "LIMIT", "BASE", "SOLAR", "WIND", "MARGIN", "BUDGET", "HEADROOM")
    lines = [f"Mode  {data['mode']}: {MODE_MEANING.get(data['mode'], '')}"]
    lines += [table(head, rows)] if rows else ["no control cycle yet"]
    lines += [f"  ! {n['id']}: {n['reason']}" for n in data["nodes"] if n["reason"]]
    lines.append(f"Writes  {data['writes']} ({data['write_failures']} failed)")
    lines += [f"  ! {bay}: {why}" for bay, why in sorted(data["failing"].items())]
    return "\n".join(lines)
