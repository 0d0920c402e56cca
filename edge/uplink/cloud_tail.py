"""Reference consumer: subscribe to a site, check sequence gaps and duplicates per stream.

`TailChecker` is pure (records in, verdicts out); `tail()` connects through the same MQTT
adapter the daemon uses and feeds it. The cloud team starts from this; the tests use it.
Gaps are loss for event streams; for telemetry (downsampled, evicted) and state
(superseded) they are expected and only counted.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.uplink.mqtt_adapter import LinkSettings, Message, MqttLink
from edge.uplink.policy import MsgClass, class_of


@dataclass(slots=True)
class StreamView:
    next_seq: int | None = None
    received: int = 0
    duplicates: int = 0
    gaps: int = 0
    missing: int = 0
    reordered: int = 0


@dataclass(slots=True)
class TailChecker:
    streams: dict[str, StreamView] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    records: list[dict[str, Any]] = field(default_factory=list)
    malformed: int = 0
    keep: bool = True

    def feed_message(self, payload: bytes) -> list[tuple[str, dict[str, Any]]]:
        """One MQTT message (a record or a batch of records): [(verdict, record)]."""
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            self.malformed += 1
            return []
        if not isinstance(data, dict):
            self.malformed += 1
            return []
        items = data.get("records") if "records" in data else [data]
        if not isinstance(items, list):
            self.malformed += 1
            return []
        return [(self.feed(r), r) for r in items if isinstance(r, dict)]

    def feed(self, record: dict[str, Any]) -> str:
        """'ok', 'duplicate', 'gap:N' (N records missing) or 'reorder'."""
        msg_id, stream, seq = record.get("msg_id"), record.get("stream"), record.get("seq")
        if not isinstance(msg_id, str) or not isinstance(stream, str) or not isinstance(seq, int):
            self.malformed += 1
            return "malformed"
        view = self.streams.setdefault(stream, StreamView())
        if msg_id in self.seen:
            view.duplicates += 1
            return "duplicate"
        self.seen.add(msg_id)
        view.received += 1
        if self.keep:
            self.records.append(record)
        expected, view.next_seq = view.next_seq, max(seq + 1, view.next_seq or 0)
        if expected is None or seq == expected:
            return "ok"
        if seq > expected:
            view.gaps += 1
            view.missing += seq - expected
            return f"gap:{seq - expected}"
        view.reordered += 1
        return "reorder"

    def event_losses(self) -> int:
        return sum(v.missing for s, v in self.streams.items() if class_of(s) is MsgClass.EVENT)

    def summary(self) -> dict[str, Any]:
        return {
            "streams": {
                s: {
                    "received": v.received,
                    "duplicates": v.duplicates,
                    "gaps": v.gaps,
                    "missing": v.missing,
                    "reordered": v.reordered,
                    "next_seq": v.next_seq,
                }
                for s, v in sorted(self.streams.items())
            },
            "malformed": self.malformed,
            "event_records_missing": self.event_losses(),
        }


class Tail:
    """A subscriber on `<prefix>/#` feeding a TailChecker; acks each message after it."""

    def __init__(
        self,
        settings: LinkSettings,
        prefix: str,
        on_record: Callable[[str, str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.prefix = prefix
        self.checker = TailChecker()
        self.raw: list[tuple[str, bytes]] = []
        self._on_record = on_record
        self.presence: list[dict[str, Any]] = []  # `<prefix>/status` messages (not records)
        self.requests: list[tuple[str, bytes]] = []  # `<prefix>/req/...`: hub -> cloud requests
        subs = (f"{prefix}/#",)
        self.link = MqttLink(
            LinkSettings(**{**_fields(settings), "subscriptions": subs, "will_topic": None})
        )
        self.link.on_message = self._message
        self.arrived = asyncio.Event()

    def _message(self, msg: Message) -> None:
        conn, topic_name, payload, mid, qos = msg
        self.raw.append((topic_name, payload))
        if topic_name.startswith(f"{self.prefix}/cmd/"):
            pass  # commands to the hub are not records
        elif topic_name == f"{self.prefix}/status":
            self._presence(payload)  # birth/will/shutdown: no stream, no seq
        elif topic_name.startswith(f"{self.prefix}/req/"):
            self.requests.append((topic_name, payload))  # e.g. req/authorize: not records
        else:
            for verdict, record in self.checker.feed_message(payload):
                # A malformed record (no stream, seq or msg_id) is only counted: callers
                # format records by those fields.
                if self._on_record is not None and verdict != "malformed":
                    self._on_record(topic_name, verdict, record)
        self.link.ack(conn, mid, qos)
        self.arrived.set()

    def _presence(self, payload: bytes) -> None:
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            data = None
        if isinstance(data, dict):
            self.presence.append(data)
        elif payload:  # an empty retained message clears the status; anything else is bad
            self.checker.malformed += 1


def _fields(settings: LinkSettings) -> dict[str, Any]:
    return {f: getattr(settings, f) for f in settings.__dataclass_fields__}
