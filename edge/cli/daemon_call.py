"""Asking the running daemon one question, for every CLI command module.

Exit codes: 0 ok, 1 failure (or the daemon busy), 2 usage, 3 daemon not reachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge.local_api.client import ApiError, DaemonBusy, DaemonUnreachable, LocalApiClient
from edge.local_api.protocol import default_socket_path

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
START_HINT = (
    "start it with `systemctl start edge` on a hub, or `edge run --config PATH` "
    "(`edge demo` for a simulated hub)"
)
Command = Callable[[argparse.Namespace], int]


def socket_path(args: argparse.Namespace) -> Path:
    return Path(args.socket) if getattr(args, "socket", None) else default_socket_path()


def emit(data: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    print(json.dumps(data, indent=2, default=str) if as_json else render(data))


def not_reached(prog: str, exc: DaemonUnreachable) -> str:
    """What to tell the technician: busy is not down, so no advice to start it."""
    if isinstance(exc, DaemonBusy):
        return f"{prog}: {exc}; try again in a moment"
    return f"{prog}: daemon not reachable: {exc}\n{START_HINT}"


def ask(
    args: argparse.Namespace,
    method: str,
    render: Callable[[Any], str],
    params: dict[str, Any] | None = None,
) -> int:
    """Call `method`, print its result (`--json` or rendered) and return the exit code."""
    try:
        with LocalApiClient(socket_path(args)) as client:
            data = client.call(method, params)
    except DaemonBusy as exc:
        print(not_reached("edge", exc), file=sys.stderr)
        return EXIT_FAILURE
    except DaemonUnreachable as exc:
        print(not_reached("edge", exc), file=sys.stderr)
        return EXIT_UNREACHABLE
    except ApiError as exc:
        print(f"edge: {method} failed: {exc} ({exc.code})", file=sys.stderr)
        return EXIT_USAGE if exc.code == "bad_params" else EXIT_FAILURE
    emit(data, getattr(args, "json", False), render)
    return EXIT_OK


def add_read_command(sub: Any, name: str, help_text: str, func: Command) -> argparse.ArgumentParser:
    """A subcommand that reads from the daemon and takes `--json`."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=func)
    return parser
