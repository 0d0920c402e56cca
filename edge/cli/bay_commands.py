"""`edge bay disable|enable|status`: a technician takes a bay or charger out of service.

main.py only registers these subparsers; the code lives here. Times given without an
offset are the site's local time; the daemon parses them with the site's time zone and
refuses a time in the past (exit 2, like any usage error).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.cli.daemon_call import ask
from edge.cli.render import table

TIME_HELP = "ISO 8601, site time unless it has an offset (2026-12-01T14:00, ...T13:00Z)"


def register(sub: Any) -> None:
    bay = sub.add_parser("bay", help="take a bay or charger out of service, or back; list them")
    actions = bay.add_subparsers(dest="bay_command", metavar="ACTION", required=True)
    for name, available, text in (
        ("disable", False, "take a bay (or a charger with all its bays) out of service"),
        ("enable", True, "put a bay or charger back in service"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("target", metavar="BAY", help="a bay id, or a charger id for all its bays")
        p.add_argument("--reason", required=True, help="why (kept, shown, sent to the cloud)")
        p.add_argument("--until", metavar="TIME", help=f"only until then; {TIME_HELP}")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=cmd_change, available=available)
    status = actions.add_parser("status", help="every bay and charger: in service or why not")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)


def cmd_change(args: argparse.Namespace) -> int:
    params = {"target": args.target, "available": args.available, "reason": args.reason}
    if args.until is not None:
        params["until"] = args.until
    return ask(args, "bay-availability", status_page, params)


def cmd_status(args: argparse.Namespace) -> int:
    return ask(args, "bay-status", status_page)


def local(iso: str | None, timezone: str) -> str:
    if iso is None:
        return "-"
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone))
    return at.strftime("%Y-%m-%d %H:%M %Z")


def _why(change: dict[str, Any], timezone: str) -> str:
    until = f", until {local(change['until'], timezone)}" if change["until"] else ""
    return (
        f"{change['kind']} {change['target']}: {change['reason']} ({change['source']} "
        f"{change['by']}, since {local(change['since'], timezone)}{until})"
    )


def status_page(s: dict[str, Any]) -> str:
    tz = s["timezone"]
    bays = [
        (
            b["id"],
            b["charger"],
            "yes" if b["available"] else "NO",
            "; ".join(_why(c, tz) for c in b["out_because"]),
        )
        for b in s["bays"]
    ]
    chargers = [(c["id"], "yes" if c["available"] else "NO") for c in s["chargers"]]
    lines = [table(("BAY", "CHARGER", "AVAILABLE", "WHY NOT"), bays), ""]
    lines += [table(("CHARGER", "AVAILABLE"), chargers)]
    if s["changes"]:
        lines += ["", "Changes in force (times in " + tz + ")"]
        for c in s["changes"]:
            state = "enabled" if c["available"] else "disabled"
            lines.append(f"  {state} {_why(c, tz)}")
    lines += [f"  ! {w}" for w in s["warnings"]]
    return "\n".join(lines)
