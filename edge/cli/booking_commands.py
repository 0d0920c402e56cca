"""`edge bookings [list|show ID|add|cancel ID]`: the site's bookings and their bays.

`add` and `cancel` are for a technician when the cloud is down: the daemon audits them with
the local user (the socket's peer credentials). Times without an offset are the site's local
time; output shows them in the site's time zone (`--json` keeps UTC).
"""

from __future__ import annotations

import argparse
from typing import Any

from edge.cli.bay_commands import TIME_HELP, local
from edge.cli.daemon_call import add_read_command, ask
from edge.cli.render import table


def register(sub: Any) -> None:
    bookings = sub.add_parser("bookings", help="bookings, their bays and history; add or cancel")
    bookings.add_argument("--json", action="store_true", help="machine-readable output")
    bookings.set_defaults(func=cmd_list)
    actions = bookings.add_subparsers(dest="bookings_command", metavar="ACTION")
    add_read_command(actions, "list", "every booking the site holds", cmd_list)
    show = add_read_command(actions, "show", "one booking with its assignment history", cmd_show)
    show.add_argument("id", metavar="ID")
    add = actions.add_parser("add", help="add a booking while the cloud is down (audited)")
    add.add_argument("id", metavar="ID", help="a booking id (1-64 characters)")
    add.add_argument("--start", required=True, metavar="TIME", help=TIME_HELP)
    add.add_argument("--end", required=True, metavar="TIME", help=TIME_HELP)
    add.add_argument("--connector", required=True, choices=("CCS", "MCS"))
    add.add_argument("--side", required=True, choices=("left", "right"), help="truck's inlet")
    add.add_argument("--plot", help="plot id (default: any)")
    add.add_argument("--plate", help="tractor plate")
    add.add_argument("--trailer-plate", help="trailer plate")
    add.add_argument("--rfid", help="RFID card uid")
    add.add_argument("--noshow-min", type=float, default=15.0, help="no-show timeout (minutes)")
    add.add_argument("--json", action="store_true", help="machine-readable output")
    add.set_defaults(func=cmd_add)
    cancel = actions.add_parser("cancel", help="cancel a booking while the cloud is down (audited)")
    cancel.add_argument("id", metavar="ID")
    cancel.add_argument("--json", action="store_true", help="machine-readable output")
    cancel.set_defaults(func=cmd_cancel)


def cmd_list(args: argparse.Namespace) -> int:
    return ask(args, "bookings", list_page)


def cmd_show(args: argparse.Namespace) -> int:
    return ask(args, "booking-show", show_page, {"id": args.id})


def cmd_add(args: argparse.Namespace) -> int:
    params = {
        "id": args.id,
        "start": args.start,
        "end": args.end,
        "connector": args.connector,
        "inlet_side": args.side,
        "plot": args.plot,
        "tractor_plate": args.plate,
        "trailer_plate": args.trailer_plate,
        "rfid_uid": args.rfid,
        "terms": {"noshow_timeout_s": args.noshow_min * 60.0},
    }
    return ask(args, "booking-add", changed_page, params)


def cmd_cancel(args: argparse.Namespace) -> int:
    return ask(args, "booking-cancel", changed_page, {"id": args.id})


def _line(b: dict[str, Any], tz: str) -> tuple[str, ...]:
    creds = b["credentials"]
    who = creds["tractor_plate"] or creds["rfid_uid"] or ("QR" if creds["qr_nonce"] else "-")
    return (
        b["id"],
        local(b["start"], tz),
        local(b["end"], tz),
        f"{b['connector']}/{b['inlet_side']}",
        b["plot"] or "any",
        b["status"],
        b["phase"],
        b["bay"] or "-",
        who,
    )


HEAD = ("ID", "START", "END", "NEEDS", "PLOT", "STATUS", "PHASE", "BAY", "CREDENTIAL")


def list_page(s: dict[str, Any]) -> str:
    tz = s["timezone"]
    if not s["bookings"]:
        lines = ["no bookings"]
    else:
        lines = [table(HEAD, [_line(b, tz) for b in s["bookings"]]), f"(times in {tz})"]
    return "\n".join(lines + [f"  ! {w}" for w in s["warnings"]])


def show_page(s: dict[str, Any]) -> str:
    tz, b = s["timezone"], s["booking"]
    lines = [table(HEAD, [_line(b, tz)]), "", f"Assignment history (times in {tz})"]
    for c in s["history"]:
        lines.append(f"  {local(c['at'], tz)}  {c['from_bay'] or '-'} -> {c['to_bay'] or '-'}")
        lines.append(f"      {c['reason']}")
    if not s["history"]:
        lines.append("  none yet (a bay is given 30 min before the slot)")
    return "\n".join(lines)


def changed_page(s: dict[str, Any]) -> str:
    b = s["booking"]
    return f"booking {b['id']}: {s['outcome']} (status {b['status']}, version {b['version']})"
