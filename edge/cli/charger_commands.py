"""`edge chargers [--json]` and `edge charger reset|unlock ID CONNECTOR --reason TEXT`: the
OCPP charge points as the daemon sees them, and two audited commands to them.

main.py only registers these subparsers (`register(sub)`).
"""

from __future__ import annotations

import argparse
from typing import Any

from edge.cli.daemon_call import add_read_command, ask
from edge.cli.render import table


def register(sub: Any) -> None:
    add_read_command(
        sub, "chargers", "OCPP charge points: version, link, firmware, profiles", cmd_chargers
    )
    charger = sub.add_parser("charger", help="an audited command to an OCPP charge point")
    actions = charger.add_subparsers(dest="charger_command", metavar="ACTION", required=True)
    for name, text in (
        ("reset", "reset the charge point (soft; --hard for a hard reset)"),
        ("unlock", "unlock a connector's cable (1.6 connectorId, 2.0.1 EVSE id)"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("charger", metavar="ID", help="a charger id of the site file")
        p.add_argument("connector", metavar="CONNECTOR", type=int, help="connector (0: all)")
        p.add_argument("--reason", required=True, help="why (kept in the audit log)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "reset":
            p.add_argument("--hard", action="store_true", help="a hard reset (sessions end)")
        p.set_defaults(func=cmd_action, method=f"charger-{name}")


def cmd_chargers(args: argparse.Namespace) -> int:
    return ask(args, "chargers", chargers_page)


def cmd_action(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"charger": args.charger, "connector": args.connector}
    params["reason"] = args.reason
    if getattr(args, "hard", False):
        params["hard"] = True
    return ask(args, args.method, lambda r: f"{r['charger']}: {r['action']} {r['outcome']}", params)


def _limit(c: dict[str, Any]) -> str:
    return "-" if c["limit_w"] is None else f"{c['limit_w'] / 1000:.1f} kW ({c['profile']})"


def chargers_page(d: dict[str, Any]) -> str:
    if not d["chargers"]:
        return "no OCPP charge points configured"
    rows = []
    for ch in d["chargers"]:
        age = ch["last_message_age_s"]
        head: tuple[str, ...] = (
            ch["charger"], ch["identity"], ch["ocpp_version"] or "-",
            "connected" if ch["connected"] else "offline",
            f"{ch['vendor']} {ch['model']} {ch['firmware']}".strip() or "-",
            "-" if age is None else f"{age:.1f}s",
            "yes" if ch["standing_profile"] else "no",
        )  # fmt: skip
        for c in ch["connectors"]:
            rows.append((*head, c["connector"], c["bay"], c["status"] or "-", _limit(c)))
            head = ("",) * len(head)
    columns = ("CHARGER", "IDENTITY", "OCPP", "LINK", "FIRMWARE", "LAST MSG", "FALLBACK PROFILE")
    return table((*columns, "CONN", "BAY", "STATUS", "LIMIT"), rows)
