"""An `ocpp` link's settings, with their defaults (docs/ocpp.md, docs/config.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.siteconf.host_checks import resolve
from edge.siteconf.model import Link


@dataclass(frozen=True, slots=True)
class OcppSettings:
    link: str
    host: str
    port: int
    secrets_file: Path
    cert_file: Path | None = None  # wss when set (with key_file)
    key_file: Path | None = None
    heartbeat_s: int = 60  # BootNotification's interval
    meter_values_s: float = 10.0  # how often chargers send MeterValues; a value is stale after 2x
    profile_threshold_w: float = 1000.0  # a smaller move of a limit sends nothing
    profile_min_interval_s: float = 0.5  # per charger, between two raised limits
    profile_validity_s: int = 60  # a dynamic profile's validTo; refreshed at half of it
    max_message_bytes: int = 64 * 1024
    max_calls_per_s: float = 10.0  # a charger's CALLs handled per second (burst 2x)
    call_timeout_s: float = 5.0  # one answer to a call of ours (charger port: 5 s)

    @property
    def tls(self) -> bool:
        return self.cert_file is not None and self.key_file is not None


def settings_of(link: Link, base: Path) -> OcppSettings:
    p = link.params

    def path(key: str) -> Path | None:
        value = p.get(key)
        if value is None:
            return None
        return resolve(base, str(value))

    secrets = path("secrets_file")
    assert secrets is not None  # required by the config check
    return OcppSettings(
        link=link.id,
        host=str(p["host"]),
        port=int(p["port"]),
        secrets_file=secrets,
        cert_file=path("cert_file"),
        key_file=path("key_file"),
        heartbeat_s=int(p.get("heartbeat_s", 60)),
        meter_values_s=float(p.get("meter_values_s", 10.0)),
        profile_threshold_w=float(p.get("profile_threshold_kw", 1.0)) * 1000.0,
        profile_min_interval_s=float(p.get("profile_min_interval_s", 0.5)),
        profile_validity_s=int(p.get("profile_validity_s", 60)),
        max_message_bytes=int(p.get("max_message_kb", 64)) * 1024,
        max_calls_per_s=float(p.get("max_calls_per_s", 10.0)),
    )
