"""`edge bays`, `edge power` and `edge limit set|clear`: what the power controller decided
this period, and an operator's lower limit on a node.

`edge bays`: per bay its state, session kind, power now, setpoint written, what binds it,
energy delivered and wanted, departure (site time) and slack. `edge power`: per limit node
its limit, base load, solar, wind, margin, budget, headroom and mode (normal, hold,
fallback; docs/operations.md explains them). Both take `--json`. `edge limit set NODE --kw
X --until TIME --reason TEXT` lowers a node's limit until then (audited with the local user);
`edge limit clear NODE` lifts it. `edge export`: the export limit's curtailment of PV and
wind (docs/power.md, "Export limit").
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.cli.bay_commands import TIME_HELP
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
    add_read_command(sub, "export", "export limit: PV and wind curtailment, and why", cmd_export)
    _register_limit(sub)


def _register_limit(sub: Any) -> None:
    limit = sub.add_parser("limit", help="lower a limit node's limit for a while, or lift it")
    actions = limit.add_subparsers(dest="limit_command", metavar="ACTION", required=True)
    p = actions.add_parser("set", help="lower NODE's limit to --kw until --until")
    p.add_argument("node", metavar="NODE", help="a limit node id ([[limits]]: grid, a feeder)")
    p.add_argument("--kw", type=float, required=True, help="the limit in kW (only lowers)")
    p.add_argument("--until", required=True, metavar="TIME", help=f"until then; {TIME_HELP}")
    p.add_argument("--reason", required=True, help="why (kept in the log with your user)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_limit_set)
    c = actions.add_parser("clear", help="lift the operator limit on NODE")
    c.add_argument("node", metavar="NODE")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=cmd_limit_clear)


def cmd_limit_set(args: argparse.Namespace) -> int:
    params = {"node": args.node, "kw": args.kw, "until": args.until, "reason": args.reason}
    return ask(args, "limit-set", limits_page, params)


def cmd_limit_clear(args: argparse.Namespace) -> int:
    return ask(args, "limit-clear", limits_page, {"node": args.node})


def limits_page(data: dict[str, Any]) -> str:
    rows = [(x["node"], kw(x["limit_w"]), x["until"], x["by"], x["reason"]) for x in data["limits"]]
    if not rows:
        return "no operator limits in force"
    return table(("NODE", "LIMIT", "UNTIL (UTC)", "BY", "REASON"), rows)


def cmd_export(args: argparse.Namespace) -> int:
    return ask(args, "export", export_page)


def export_page(data: dict[str, Any]) -> str:
    """`edge export`: the limit, the curtailment in force and why, each inverter's limit."""
    if data.get("state") == "disabled":
        return f"no export control: {data.get('why', '-')}"
    now = f"{data['pct']:g} % of rating (cap {kw(data['cap_w'])})" if data["curtailing"] else "none"
    lines = [
        f"Export limit {kw(data['limit_w'])}, target {kw(data['target_w'])}",
        f"Curtailment {now}: {data['reason'] or '-'}",
        f"Safe level {data['safe_pct']:g} % (grid meter lost, stop, failed cycle)",
    ]
    rows = [
        (
            i["id"],
            _limit(i),
            "no rating: not curtailed" if not i["rated"] else (i["failing"] or "ok"),
        )
        for i in data["inverters"]
    ]
    return "\n".join([*lines, table(("INVERTER", "LIMIT", "STATE"), rows)])


def _limit(inverter: dict[str, Any]) -> str:
    if not inverter["written"]:
        return "-"
    pct = inverter["written_pct"]
    return "none" if pct is None else f"{pct:g} %"


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


def _soc(pct: float | None) -> str:
    return "-" if pct is None else f"{pct:.0f} %"


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
            f"booked {b['booking']}" if b.get("booking") else b["kind"] or "-",
            kw(b["power_w"]),
            kw(b["setpoint_w"]),
            b["binding"],
            f"{kwh(b['energy_delivered_wh'])}/{kwh(b['energy_wanted_wh'])}",
            _soc(b.get("soc_pct")),  # absent from a daemon older than this CLI
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
        "SOC",
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
    if data.get("limits"):
        lines += ["Operator limits", limits_page(data)]
    lines.append(f"Writes  {data['writes']} ({data['write_failures']} failed)")
    lines += [f"  ! {bay}: {why}" for bay, why in sorted(data["failing"].items())]
    plan = data.get("plan")  # absent from an older daemon, None without a plan
    if plan:
        age = "none yet" if plan["age_s"] is None else f"made {plan['age_s']:g} s ago"
        lines.append(
            f"Plan  every {plan['every_s']:g} s, {age}: {plan['bays']} bays,"
            f" {plan['served']} trucks to serve fully, {plan['failures']} failed"
        )
    return "\n".join(lines)
