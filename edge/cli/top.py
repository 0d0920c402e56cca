"""`edge top`: the status page and the power sharing (per limit node its budget and
headroom, per bay its state, power, setpoint and binding), refreshed until Ctrl-C (or
`--duration`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from edge.cli.daemon_call import EXIT_FAILURE, EXIT_OK, EXIT_UNREACHABLE, not_reached
from edge.cli.render import sharing_page, status_page
from edge.local_api.client import ApiError, DaemonBusy, DaemonUnreachable, LocalApiClient

CLEAR = "\x1b[H\x1b[2J"


def _sharing(client: LocalApiClient) -> str:
    """The sharing block, or a line saying why not (a daemon without the methods)."""
    try:
        return sharing_page(client.call("bays"), client.call("power"))
    except ApiError as exc:
        return f"Sharing   not available: {exc} ({exc.code})"
    except DaemonUnreachable as exc:  # the next status call decides whether to give up
        return f"Sharing   not available: {exc}"


def run_top(
    socket_path: Path,
    *,
    interval_s: float = 1.0,
    duration_s: float | None = None,
    as_json: bool = False,
) -> int:
    deadline = None if duration_s is None else time.monotonic() + duration_s
    interactive = sys.stdout.isatty() and not as_json
    client = LocalApiClient(socket_path, timeout_s=3.0)
    misses = 0
    seen = False
    try:
        while deadline is None or time.monotonic() < deadline:
            try:
                status = client.call("status")
                misses, seen = 0, True
            except (DaemonUnreachable, ApiError) as exc:
                misses += 1
                # Never reached: say so at once. Reached before: allow a restart's brief gap.
                if not seen or misses >= 3:
                    if isinstance(exc, ApiError):
                        print(f"edge top: status failed: {exc} ({exc.code})", file=sys.stderr)
                        return EXIT_FAILURE
                    print(not_reached("edge top", exc), file=sys.stderr)
                    return EXIT_FAILURE if isinstance(exc, DaemonBusy) else EXIT_UNREACHABLE
                time.sleep(interval_s)
                continue
            if as_json:
                print(json.dumps(status, default=str), flush=True)
            else:
                header = f"edge top  {time.strftime('%H:%M:%S')}  (Ctrl-C to quit)\n\n"
                body = status_page(status) + "\n\n" + _sharing(client)
                page = (CLEAR if interactive else "") + header + body + "\n"
                print(page, flush=True)
            time.sleep(interval_s)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return EXIT_OK
