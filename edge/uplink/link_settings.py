"""How to reach the broker: settings, URL parsing, reconnect backoff, the TLS context.
No paho here (the adapter is the only module importing it); all of this is plain data or
the standard library.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class LinkSettings:
    broker: str  # mqtt://host:port or mqtts://host:port
    client_id: str
    mqtt_version: str = "5"
    keepalive_s: int = 30
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    session_expiry_s: int = 86_400  # commands queued while offline survive a day
    max_inflight: int = 50
    receive_max: int | None = None  # MQTT 5: most unacknowledged messages the broker may send
    will_topic: str | None = None
    will_payload: bytes = b""
    subscriptions: tuple[str, ...] = ()
    backoff_min_s: float = 1.0
    backoff_max_s: float = 60.0
    connect_timeout_s: float = 10.0


def parse_broker(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"broker {url!r}: must be mqtt://host:port or mqtts://host:port")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


def backoff_delay(attempt: int, min_s: float, max_s: float, rnd: float) -> float:
    """Full jitter: uniform in [min, min(max, min * 2**attempt)], so a fleet of hubs that
    lost the same broker does not reconnect in lock-step. `rnd` is in [0, 1)."""
    ceiling = min(max_s, min_s * float(2 ** min(attempt, 20)))
    return min_s + (ceiling - min_s) * rnd


SESSION_TAKEN_OVER = 0x8E


def disconnect_reason(code: int, name: str) -> str:
    """Why a connection ended, for the log and `edge status`. A takeover is named as such:
    another client connected with this client id (a second daemon for the same site?)."""
    if code == SESSION_TAKEN_OVER:
        return "session taken over: another client connected with this client id"
    return f"connection lost: {name}"


def tls_context(s: LinkSettings) -> ssl.SSLContext:
    """Only the configured CA is trusted (pinning: no system store when a CA is given)."""
    ctx = ssl.create_default_context(cafile=str(s.ca_file) if s.ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if s.cert_file:
        ctx.load_cert_chain(str(s.cert_file), str(s.key_file) if s.key_file else None)
    return ctx
