"""`edge devices`, `edge probe` and `edge profiles`: the technician's device tools.

`devices` asks the daemon; `probe` (edge/cli/probe.py) and `profiles` work without it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.cli.daemon_call import EXIT_FAILURE, EXIT_OK, add_read_command, ask
from edge.cli.render import table


def register(sub: Any) -> None:
    add_read_command(sub, "devices", "devices and links: health, last values, errors", cmd_devices)
    probe = sub.add_parser("probe", help="read one device once, decode and print (no daemon)")
    probe.add_argument("target", help="modbus-tcp://HOST:PORT or modbus-rtu:///dev/ttyX?baud=9600")
    probe.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    probe.add_argument("--profile", help="profile id; without it, SunSpec discovery")
    probe.add_argument("--timeout", type=float, default=1.0, help="seconds per request")
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    probe.set_defaults(func=cmd_probe)
    profiles = sub.add_parser("profiles", help="list and validate the device profiles")
    profiles.add_argument("--dir", action="append", help="only this folder (repeatable)")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")
    profiles.set_defaults(func=cmd_profiles)


def cmd_devices(args: argparse.Namespace) -> int:
    return ask(args, "devices", devices_page)


def cmd_probe(args: argparse.Namespace) -> int:
    from edge.cli.probe import run_probe  # noqa: PLC0415 (loads pymodbus)

    return run_probe(args)


def cmd_profiles(args: argparse.Namespace) -> int:
    from edge.drivers.catalog import load_catalog, profile_dirs  # noqa: PLC0415

    dirs = [Path(p) for p in args.dir] if args.dir else list(profile_dirs())
    profiles, errors = load_catalog(dirs)
    rows = [
        {
            "id": p.id,
            "protocol": p.protocol,
            "kind": p.kind,
            "vendor": p.vendor,
            "points": len(p.points),
            "file": str(p.source),
        }
        for p in sorted(profiles.values(), key=lambda p: p.id)
    ]
    if args.json:
        print(json.dumps({"profiles": rows, "errors": errors}, indent=2))
    else:
        print(
            table(
                ("ID", "PROTOCOL", "KIND", "VENDOR", "POINTS"),
                [(r["id"], r["protocol"], r["kind"], r["vendor"], r["points"]) for r in rows],
            )
        )
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        print(f"{len(rows)} profile(s) valid, {len(errors)} invalid", file=sys.stderr)
    return EXIT_FAILURE if errors else EXIT_OK


def _value(entry: list[Any]) -> str:
    value, unit, quality, age = entry
    shown = "-" if value is None else f"{value:g}{(' ' + unit) if unit else ''}"
    return f"{shown} ({quality}, {age:.1f}s)"


DEVICE_COLUMNS = "DEVICE PROFILE LINK UNIT STATE LAST_OK POLLS FAILS TIMEOUTS INVALID WRITES/FAILED"
LINK_COLUMNS = "LINK ENDPOINT LINE CONNECTED REQUESTS RECONNECTS BUSY PLANNED"


def _device_row(x: dict[str, Any]) -> tuple[Any, ...]:
    age = x["last_ok_age_s"]
    return (
        x["device"], x["profile"], x["link"], "-" if x["unit"] is None else x["unit"],
        x["state"], "-" if age is None else f"{age:.1f}s", x["polls"], x["failures"],
        x["timeouts"], x["invalid_values"], f"{x['writes']}/{x['write_failures']}",
    )  # fmt: skip


def _link_row(x: dict[str, Any]) -> tuple[Any, ...]:
    planned = x.get("planned_utilisation")
    return (
        x["link"], x["endpoint"], x.get("line") or "-", "yes" if x["connected"] else "no",
        x["requests"], x["reconnects"], f"{100 * x['utilisation']:.1f}%",
        "-" if planned is None else f"{100 * planned:.0f}%",
    )  # fmt: skip


def devices_page(d: dict[str, Any]) -> str:
    """`edge devices`: health and error counts per device, its last values with their age,
    then each link with its traffic and (RS-485) line utilisation, measured and planned."""
    headers = [h.replace("_", " ") for h in DEVICE_COLUMNS.split()]
    out = [table(headers, [_device_row(x) for x in d["devices"]])]
    for x in d["devices"]:
        values = x.get("values") or {}
        if values:
            shown = ", ".join(f"{k} {_value(v)}" for k, v in sorted(values.items()))
            out.append(f"  {x['device']}: {shown}")
        if x["last_error"] and x["state"] != "ok":
            out.append(f"  {x['device']}: last error: {x['last_error']}")
    out += ["", table(LINK_COLUMNS.split(), [_link_row(x) for x in d["links"]])]
    return "\n".join(out)
