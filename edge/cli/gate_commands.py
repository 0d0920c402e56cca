"""`edge gate [status]`, `edge gate open LANE --reason`, `edge gate hold-open LANE --reason`,
`edge gate release LANE`: a technician sees and drives the gate lanes.

main.py only registers these subparsers. The daemon records who asked (the socket's peer
credentials) and why; an open only opens: the lane still never closes over a vehicle.
"""

from __future__ import annotations

import argparse
from typing import Any

from edge.cli.daemon_call import ask
from edge.cli.render import table


def register(sub: Any) -> None:
    gate = sub.add_parser("gate", help="gate lanes: status, an audited open, hold open, release")
    gate.add_argument("--json", action="store_true", help="machine-readable output")
    gate.set_defaults(func=cmd_status)
    actions = gate.add_subparsers(dest="gate_command", metavar="ACTION")
    status = actions.add_parser("status", help="every lane: state, inputs, output (default)")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)
    for name, method, text in (
        ("open", "gate-open", "open a lane once (audited; it still never closes on a vehicle)"),
        ("hold-open", "gate-hold-open", "hold a lane open until `edge gate release`"),
    ):
        p = actions.add_parser(name, help=text)
        p.add_argument("lane", metavar="LANE", help="a gate lane id")
        p.add_argument("--reason", required=True, help="why (kept in the audit log)")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=cmd_action, method=method)
    release = actions.add_parser("release", help="end a hold-open; the lane closes when clear")
    release.add_argument("lane", metavar="LANE", help="a gate lane id")
    release.add_argument("--json", action="store_true", help="machine-readable output")
    release.set_defaults(func=cmd_action, method="gate-release", reason=None)


def cmd_status(args: argparse.Namespace) -> int:
    return ask(args, "gate-status", status_page)


def cmd_action(args: argparse.Namespace) -> int:
    params = {"lane": args.lane}
    if args.reason is not None:
        params["reason"] = args.reason
    return ask(args, args.method, status_page, params)


def _inputs(sensors: dict[str, bool] | None) -> str:
    if sensors is None:
        return "-"
    return " ".join(name for name, on in sensors.items() if on) or "clear"


def status_page(s: dict[str, Any]) -> str:
    rows = [
        (
            lane["lane"],
            lane["direction"],
            lane["state"] + (f" ({lane['fault']})" if lane["fault"] else ""),
            {None: "?", 1.0: "open", 0.0: "closed"}.get(lane["output"], "?"),
            _inputs(lane["sensors"]),
            lane["held_by"] or "-",
        )
        for lane in s["lanes"]
    ]
    if not rows:
        return "no gate lanes configured"
    head = ("LANE", "DIRECTION", "STATE", "OUTPUT", "INPUTS ON", "HELD BY")
    lines = [table(head, rows)]
    if "state" in s:
        lines.insert(0, f"{s['lane']}: {s['state']}")
    if s.get("recent"):
        counts = ", ".join(f"{k} {v}" for k, v in sorted(s.get("decisions", {}).items()))
        lines.append(f"\nEntry decisions: {counts}; the last {len(s['recent'])}:")
        lines += [
            f"  {d['gate']} {d['reason']} ({d['booking'] or 'ad hoc'}): {d['detail']}"
            for d in s["recent"]
        ]
    return "\n".join(lines)
