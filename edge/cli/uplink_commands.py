"""`edge buffer`, `edge uplink` and `edge cloud-tail`: the uplink's command-line side."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any

from edge.cli.daemon_call import add_read_command, ask
from edge.cli.render import table


def register(sub: Any) -> None:
    add_read_command(
        sub, "buffer", "uplink buffer: depth per class, oldest age, disk, send rate", cmd_buffer
    )
    add_read_command(
        sub, "uplink", "uplink connection: state, broker, last error, alarms", cmd_uplink
    )
    tail = sub.add_parser("cloud-tail", help="subscribe to a site like the cloud; check seq gaps")
    tail.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    tail.add_argument("--prefix", required=True, help="the site's topic prefix, e.g. hubs/demo-hub")
    tail.add_argument("--client-id", default="edge-cloud-tail")
    tail.add_argument("--mqtt-version", choices=["5", "3.1.1"], default="5")
    tail.add_argument("--ca-file")
    tail.add_argument("--cert-file")
    tail.add_argument("--key-file")
    tail.add_argument("--out", help="append every record received to this JSON-lines file")
    tail.add_argument("--duration", type=float, help="stop after this many seconds")
    tail.add_argument("--json", action="store_true", help="print records as JSON lines")
    tail.set_defaults(func=cmd_cloud_tail)


def buffer_page(b: dict[str, Any]) -> str:
    if not b.get("depth"):
        return "Uplink not configured"
    ages = b.get("oldest_age_s", {})
    rows = [
        (c, b["depth"][c], b["bytes"][c], "-" if c not in ages else f"{ages[c]:.0f}s")
        for c in ("event", "state", "telemetry")
    ]
    est = b.get("drain_estimate_s")
    lines = [
        table(("CLASS", "ROWS", "BYTES", "OLDEST"), rows),
        "",
        f"Disk      {b['disk_bytes'] / 1e6:.1f} MB on disk, budget {b['budget_bytes'] / 1e6:.1f} MB"
        f" ({b['event_reserve_bytes'] / 1e6:.1f} MB held for events)",
        f"Sending   {b['send_rate_records_s']} records/s, {b['inflight']} in flight, "
        f"drain estimate {'-' if est is None else f'{est:.0f}s'}",
        f"Counters  {json.dumps(b['counters'], sort_keys=True)}",
    ]
    return "\n".join(lines)


def uplink_page(u: dict[str, Any]) -> str:
    if not u.get("configured"):
        return "Uplink    disabled"
    lines = [
        f"Uplink    {u['state']} ({u['broker']})",
        f"Buffer    {u['buffer_depth']} record(s) waiting",
        f"Error     {u.get('last_error') or 'none'}",
    ]
    alarms = u.get("alarms") or {}
    lines += [f"  ! {k}: {v}" for k, v in sorted(alarms.items())]
    if u.get("out_of_service"):
        lines.append(f"Out of service  {', '.join(u['out_of_service'])}")
    return "\n".join(lines)


def cmd_buffer(args: argparse.Namespace) -> int:
    return ask(args, "buffer", buffer_page)


def cmd_uplink(args: argparse.Namespace) -> int:
    return ask(args, "uplink", uplink_page)


def cmd_cloud_tail(args: argparse.Namespace) -> int:
    from edge.uplink.cloud_tail import Tail  # noqa: PLC0415 (keeps paho out of other commands)
    from edge.uplink.mqtt_adapter import LinkSettings  # noqa: PLC0415

    out = Path(args.out).open("a", encoding="utf-8") if args.out else None  # noqa: SIM115

    def show(topic: str, verdict: str, record: dict[str, Any]) -> None:
        if out is not None:
            out.write(json.dumps(record) + "\n")
            out.flush()  # a consumer reading along, or a kill, sees every record
        if args.json:
            print(json.dumps({"topic": topic, "verdict": verdict, "record": record}), flush=True)
        else:
            flag = "" if verdict == "ok" else f"  <-- {verdict}"
            print(f"{record['stream']} #{record['seq']} {record['msg_id'][:8]}{flag}", flush=True)

    settings = LinkSettings(
        args.broker,
        args.client_id,
        mqtt_version=args.mqtt_version,
        ca_file=Path(args.ca_file) if args.ca_file else None,
        cert_file=Path(args.cert_file) if args.cert_file else None,
        key_file=Path(args.key_file) if args.key_file else None,
    )
    tail = Tail(settings, args.prefix.rstrip("/"), show)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run_tail(tail, args.duration))
    finally:
        if out is not None:
            out.close()
    print(json.dumps(tail.checker.summary(), indent=2), file=sys.stderr)
    return 0 if tail.checker.event_losses() == 0 else 1


async def _run_tail(tail: Any, duration: float | None) -> None:
    """Until --duration, Ctrl-C or SIGTERM; then disconnect cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(tail.link.run())
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
    finally:
        await tail.link.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
