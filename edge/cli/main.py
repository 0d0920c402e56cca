"""`edge`: the technician's command line.

Exit codes: 0 ok, 1 failure (e.g. an invalid config), 2 usage, 3 daemon not reachable.
Every read command takes `--json` for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from edge import __version__
from edge.cli.top import START_HINT
from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient
from edge.local_api.protocol import default_socket_path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


def _socket(args: argparse.Namespace) -> Path:
    return Path(args.socket) if args.socket else default_socket_path()


def _print(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))


def cmd_version(args: argparse.Namespace) -> int:
    info: dict[str, Any] = {"cli": __version__}
    try:
        with LocalApiClient(_socket(args), timeout_s=1.0) as client:
            info["daemon"] = client.call("version")
    except (DaemonUnreachable, ApiError):
        info["daemon"] = None
    _print(
        info,
        args.json,
        lambda d: (
            f"edge {d['cli']}"
            + (
                f" (daemon {d['daemon']['version']}, boot {d['daemon']['boot_id'][:8]})"
                if d["daemon"]
                else ""
            )
        ),
    )
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
    _print(
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
    socket_path = Path(args.socket) if args.socket else None
    return run_daemon(config, socket_path=socket_path, config_warnings=warnings)


def _ask(args: argparse.Namespace, method: str, render: Callable[[Any], str]) -> int:
    try:
        with LocalApiClient(_socket(args)) as client:
            data = client.call(method)
    except DaemonUnreachable as exc:
        print(f"edge: daemon not reachable: {exc}\n{START_HINT}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except ApiError as exc:
        print(f"edge: {method} failed: {exc} ({exc.code})", file=sys.stderr)
        return EXIT_FAILURE
    _print(data, args.json, render)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    from edge.cli.render import status_page  # noqa: PLC0415

    return _ask(args, "status", status_page)


def cmd_devices(args: argparse.Namespace) -> int:
    from edge.cli.device_commands import devices_page  # noqa: PLC0415

    return _ask(args, "devices", devices_page)


def cmd_top(args: argparse.Namespace) -> int:
    from edge.cli.top import run_top  # noqa: PLC0415

    return run_top(
        _socket(args), interval_s=args.interval, duration_s=args.duration, as_json=args.json
    )


def cmd_demo(args: argparse.Namespace) -> int:
    from edge.cli.demo import run_demo  # noqa: PLC0415

    return run_demo(config=args.config, duration_s=args.duration, keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge", description="Edge controller for truck-charging hubs."
    )
    parser.add_argument(
        "--socket", help="daemon socket (default: $EDGE_SOCKET or the runtime directory)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def read_cmd(
        name: str, help_text: str, func: Callable[[argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--json", action="store_true", help="machine-readable output")
        p.set_defaults(func=func)
        return p

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", required=True, help="site file (TOML)")
    run.add_argument(
        "--socket", dest="socket", default=argparse.SUPPRESS, help="local API socket path"
    )
    run.add_argument("--state-dir", help="override storage.state_dir")
    run.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    run.set_defaults(func=cmd_run)

    read_cmd("status", "site mode, grid, generation, bays, gate, uplink, warnings", cmd_status)
    read_cmd("devices", "devices and links: health, last values, errors", cmd_devices)
    read_cmd("version", "CLI and daemon versions", cmd_version)
    top = read_cmd("top", "live view, refreshed every second until Ctrl-C", cmd_top)
    top.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    top.add_argument("--duration", type=float, help="stop after this many seconds")

    from edge.cli.uplink_commands import register as register_uplink  # noqa: PLC0415

    register_uplink(sub, read_cmd)
    from edge.cli.bay_commands import register as register_bay  # noqa: PLC0415

    register_bay(sub)

    config = sub.add_parser("config", help="site configuration tools")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate a site file offline; exit 1 listing all errors"
    )
    check.add_argument("path")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_config_check)

    _device_commands(sub)

    demo = sub.add_parser("demo", help="run a simulated hub and show it live (no hardware needed)")
    demo.add_argument("--config", help="site file (default: config/demo.toml)")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--keep", action="store_true", help="keep the demo's temp dir (logs, state)")
    demo.set_defaults(func=cmd_demo)
    return parser


def _device_commands(sub: Any) -> None:
    """`edge probe` and `edge profiles`; implemented in edge/cli/device_commands.py."""

    def lazy(name: str) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            from edge.cli import device_commands  # noqa: PLC0415

            return int(getattr(device_commands, name)(args))

        return run

    probe = sub.add_parser("probe", help="read one device once, decode and print (no daemon)")
    probe.add_argument("target", help="modbus-tcp://HOST:PORT or modbus-rtu:///dev/ttyX?baud=9600")
    probe.add_argument("--unit", type=int, default=1, help="Modbus unit id (default 1)")
    probe.add_argument("--profile", help="profile id; without it, SunSpec discovery")
    probe.add_argument("--timeout", type=float, default=1.0, help="seconds per request")
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    probe.set_defaults(func=lazy("cmd_probe"))
    profiles = sub.add_parser("profiles", help="list and validate the device profiles")
    profiles.add_argument("--dir", action="append", help="only this folder (repeatable)")
    profiles.add_argument("--json", action="store_true", help="machine-readable output")
    profiles.set_defaults(func=lazy("cmd_profiles"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not hasattr(args, "socket"):
        args.socket = None
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        return EXIT_OK
