"""`edge`: the technician's command line.

Exit codes: 0 ok, 1 failure (e.g. an invalid config, or the daemon busy), 2 usage,
3 daemon not reachable. Every read command takes `--json` for scripts.

Each command module has `register(subparsers)`; adding one is one line in COMMAND_MODULES.
The modules import their heavy parts inside the commands, so registering all is cheap.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from edge.cli import (
    bay_commands,
    booking_commands,
    charger_commands,
    device_commands,
    gate_commands,
    power_commands,
    sim_commands,
    site_commands,
    uplink_commands,
)
from edge.cli.daemon_call import EXIT_OK, EXIT_USAGE

COMMAND_MODULES = (
    site_commands,
    device_commands,
    uplink_commands,
    bay_commands,
    booking_commands,
    gate_commands,
    power_commands,
    charger_commands,
    sim_commands,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge", description="Edge controller for truck-charging hubs."
    )
    parser.add_argument(
        "--socket", help="daemon socket (default: $EDGE_SOCKET or the runtime directory)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


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
