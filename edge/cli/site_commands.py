"""`edge run`, `config check`, `status`, `version`, `top` and `demo`: the daemon and its site.

Heavy modules (the daemon, the config loader) are imported inside the commands, so asking
for `edge status` does not load what only `edge run` needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge import __version__
from edge.cli.daemon_call import (
    EXIT_FAILURE,
    EXIT_OK,
    add_read_command,
    ask,
    emit,
    socket_path,
)
from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", required=True, help="site file (TOML)")
    run.add_argument(
        "--socket", dest="socket", default=argparse.SUPPRESS, help="local API socket path"
    )
    run.add_argument("--state-dir", help="override storage.state_dir")
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=cmd_run)

    add_read_command(
        sub, "status", "site mode, grid, generation, bays, gate, uplink, warnings", cmd_status
    )
    add_read_command(sub, "version", "CLI and daemon versions", cmd_version)
    top = add_read_command(sub, "top", "live view, refreshed every second until Ctrl-C", cmd_top)
    top.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    top.add_argument("--duration", type=float, help="stop after this many seconds")

    config = sub.add_parser("config", help="site configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate a site file offline; exit 1 listing all errors"
    )
    check.add_argument("path")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_config_check)

    demo = sub.add_parser("demo", help="run a simulated hub and show it live (no hardware needed)")
    demo.add_argument("--config", help="site file (default: config/demo.toml)")
    demo.add_argument(
        "--ocpp",
        action="store_true",
        help="the demo's chargers as OCPP 1.6J and 2.0.1 charge points (config/demo-ocpp.toml)",
    )
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--keep", action="store_true", help="keep the demo's temp dir (logs, state)")
    demo.set_defaults(func=cmd_demo)


def cmd_version(args: argparse.Namespace) -> int:
    info: dict[str, Any] = {"cli": __version__}
    try:
        with LocalApiClient(socket_path(args), timeout_s=1.0) as client:
            info["daemon"] = client.call("version")
    except (DaemonUnreachable, ApiError):
        info["daemon"] = None

    def render(d: dict[str, Any]) -> str:
        daemon = d["daemon"]
        shown = f" (daemon {daemon['version']}, boot {daemon['boot_id'][:8]})" if daemon else ""
        return f"edge {d['cli']}{shown}"

    emit(info, args.json, render)
    return EXIT_OK


def cmd_config_check(args: argparse.Namespace) -> int:
    from edge.siteconf import ConfigError, load_site_with_warnings  # noqa: PLC0415

    try:
        config, issues = load_site_with_warnings(args.path)
    except ConfigError as exc:
        errors = [str(i) for i in exc.issues if i.severity == "error"]
        warnings = [str(i) for i in exc.issues if i.severity != "error"]
        if args.json:
            print(json.dumps({"ok": False, "errors": errors, "warnings": warnings}, indent=2))
        else:
            print("\n".join(errors + warnings), file=sys.stderr)
            print(
                f"{args.path}: {len(errors)} error(s), {len(warnings)} warning(s)", file=sys.stderr
            )
        return EXIT_FAILURE
    summary = {
        "ok": True,
        "site": config.site_id,
        "bays": len(config.bays),
        "chargers": len(config.chargers),
        "devices": len(config.devices),
        "warnings": [str(i) for i in issues],
    }
    emit(
        summary,
        args.json,
        lambda d: "\n".join(
            [
                *d["warnings"],
                f"{args.path}: ok (site {d['site']}, {d['bays']} bays, "
                f"{d['chargers']} chargers, {d['devices']} devices)",
            ]
        ),
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from edge.logs import setup_logging  # noqa: PLC0415
    from edge.runtime import run_daemon  # noqa: PLC0415
    from edge.siteconf import ConfigError, load_site_with_warnings  # noqa: PLC0415

    try:
        config, issues = load_site_with_warnings(args.config)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        print("nothing started", file=sys.stderr)
        return EXIT_FAILURE
    if args.state_dir:
        from dataclasses import replace  # noqa: PLC0415

        config = replace(config, storage=replace(config.storage, state_dir=Path(args.state_dir)))
    setup_logging(args.log_level or config.logging.level, config.logging.areas)
    warnings = [str(i) for i in issues]
    for w in warnings:
        print(w, file=sys.stderr)
    given = Path(args.socket) if args.socket else None
    # --state-dir, --socket and the environment's defaults bypass the file's checks.
    from edge.local_api.protocol import default_socket_path  # noqa: PLC0415
    from edge.siteconf.host_checks import runtime_path_problems  # noqa: PLC0415

    socket = given or config.storage.socket or default_socket_path()
    problems, path_warnings = runtime_path_problems(config.storage.state_dir, socket)
    for problem in problems:
        print(f"edge run: {problem}", file=sys.stderr)
    if problems:
        print("nothing started", file=sys.stderr)
        return EXIT_FAILURE
    for w in path_warnings:
        print(f"edge run: warning: {w}", file=sys.stderr)
    warnings += path_warnings
    return run_daemon(config, socket_path=given, config_warnings=warnings)


def cmd_status(args: argparse.Namespace) -> int:
    from edge.cli.render import status_page  # noqa: PLC0415

    return ask(args, "status", status_page)


def cmd_top(args: argparse.Namespace) -> int:
    from edge.cli.top import run_top  # noqa: PLC0415

    return run_top(
        socket_path(args), interval_s=args.interval, duration_s=args.duration, as_json=args.json
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from edge.cli.demo import run_demo  # noqa: PLC0415

    return run_demo(config=args.config, duration_s=args.duration, keep=args.keep, ocpp=args.ocpp)
