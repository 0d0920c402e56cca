"""`edge top`: the status page, refreshed until Ctrl-C (or `--duration`)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from edge.cli.render import status_page
from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient

CLEAR = "\x1b[H\x1b[2J"
START_HINT = (
    "start it with `systemctl start edge` on a hub, or `edge run --config PATH` "
    "(`edge demo` for a simulated hub)"
)


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
                    print(f"edge top: daemon not reachable: {exc}\n{START_HINT}", file=sys.stderr)
                    return 3
                time.sleep(interval_s)
                continue
            if as_json:
                print(json.dumps(status, default=str), flush=True)
            else:
                header = f"edge top  {time.strftime('%H:%M:%S')}  (Ctrl-C to quit)\n\n"
                page = (CLEAR if interactive else "") + header + status_page(status) + "\n"
                print(page, flush=True)
            time.sleep(interval_s)
    except KeyboardInterrupt:
        pass
    finally:
        client.close()
    return 0
