"""The JSON envelope every uplink record carries, and the topic tree. Pure, no I/O.

A record: {"v", "site", "msg_id", "stream", "seq", "boot_id", "ts", "clock_ok", "class",
"payload"}. `msg_id` is unique forever (the cloud deduplicates by it); `seq` counts per
stream and survives restarts, so a gap in an event stream means loss and is detectable.
Telemetry travels as batches: {"v", "site", "stream", "count", "records": [record, ...]}.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from edge.uplink.policy import MsgClass, clock_ok

SCHEMA_VERSION = 1
STREAM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_/")


def check_stream(stream: str) -> None:
    """Streams become topic suffixes: lower-case words joined by '/', no wildcards."""
    if not stream or stream.startswith("/") or stream.endswith("/") or "//" in stream:
        raise ValueError(f"stream {stream!r}: must be words joined by '/' (uplink)")
    if not set(stream) <= STREAM_CHARS:
        raise ValueError(f"stream {stream!r}: only a-z, 0-9, '-', '_' and '/' allowed (uplink)")


def utc_iso(wall: float) -> str:
    return (
        datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def new_msg_id() -> str:
    return uuid.uuid4().hex


def record_json(
    *,
    site: str,
    stream: str,
    seq: int,
    boot_id: str,
    wall: float,
    cls: MsgClass,
    payload: Any,
    msg_id: str | None = None,
) -> str:
    return json.dumps(
        {
            "v": SCHEMA_VERSION,
            "site": site,
            "msg_id": msg_id or new_msg_id(),
            "stream": stream,
            "seq": seq,
            "boot_id": boot_id,
            "ts": utc_iso(wall),
            "clock_ok": clock_ok(wall),
            "class": cls.label,
            "payload": payload,
        },
        separators=(",", ":"),
        default=str,
    )


def batch_json(site: str, stream: str, bodies: list[str]) -> str:
    """Several stored records of one stream in one message, without re-parsing them."""
    head = json.dumps({"v": SCHEMA_VERSION, "site": site, "stream": stream, "count": len(bodies)})
    return head[:-1] + ',"records":[' + ",".join(bodies) + "]}"


def topic(prefix: str, stream: str) -> str:
    return f"{prefix}/{stream}"


def status_topic(prefix: str) -> str:
    return f"{prefix}/status"


def command_topic(prefix: str, name: str = "+") -> str:
    return f"{prefix}/cmd/{name}"


def command_name(prefix: str, topic_name: str) -> str | None:
    head = f"{prefix}/cmd/"
    if not topic_name.startswith(head):
        return None
    rest = topic_name[len(head) :]
    return rest if rest and "/" not in rest else None
