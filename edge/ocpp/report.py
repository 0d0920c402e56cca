"""What the operator and the cloud see of the OCPP charge points: rows for `edge devices` /
`telemetry/health` (the same keys as every driver's, plus the OCPP ones) and for
`edge chargers`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from edge.ocpp.station import Station

if TYPE_CHECKING:
    from edge.ocpp.site import Endpoint, OcppSite


def _age(st: Station, now: float) -> float | None:
    return None if st.last_message_at is None else round(now - st.last_message_at, 3)


def _state(st: Station, ep: Endpoint) -> str:
    if ep.secrets_problem:
        return "refused"  # no password can match: the secrets file is unusable
    if st.connected:
        return "ok"
    return "never-connected" if st.connects == 0 else "disconnected"


def health_rows(site: OcppSite, now: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for ep in site.endpoints:
        scheme = "wss" if ep.settings.tls else "ws"
        for st in ep.stations.values():
            rows.append(
                {
                    "device": st.identity,
                    "profile": "ocpp",
                    "protocol": "ocpp",
                    "link": ep.settings.link,
                    "endpoint": f"{scheme}://{ep.settings.host}:{ep.settings.port}/ocpp/{st.identity}",
                    "unit": None,
                    "state": _state(st, ep),
                    "polls": st.messages_in,
                    "failures": st.refusals,
                    "timeouts": 0,
                    "rejected": st.profiles_rejected,
                    "invalid_values": st.errors_out,
                    "writes": st.profiles_sent,
                    "write_failures": st.profiles_rejected,
                    "last_ok_age_s": _age(st, now),
                    "poll_age_s": _age(st, now) or 0.0,
                    "polls_stalled": False,
                    "last_error": ep.secrets_problem or st.last_rejection,
                    "values": {},
                    "ocpp_version": st.version or None,
                    "connected": st.connected,
                    "last_message_age_s": _age(st, now),
                }
            )
    return rows


def charger_rows(site: OcppSite, now: float) -> list[dict[str, Any]]:
    """`edge chargers`: per charge point, its version, link, firmware, connectors, profiles."""
    rows: list[dict[str, Any]] = []
    for st in site.stations.values():
        connectors = [
            {
                "connector": c,
                "bay": bay,
                "status": st.words.get(c),
                "transaction": st.tx_of(c),
                "limit_w": st.sent[c].limit_w if c in st.sent else None,
                "profile": ("tx" if st.sent[c].transaction_id else "tx-default")
                if c in st.sent
                else None,
            }
            for c, bay in sorted(st.bays.items())
        ]
        rows.append(
            {
                "charger": st.charger,
                "identity": st.identity,
                "ocpp_version": st.version or None,
                "connected": st.connected,
                "vendor": st.vendor,
                "model": st.model,
                "firmware": st.firmware,
                "last_message_age_s": _age(st, now),
                "standing_profile": st.standing_ok,
                "rate_unit": st.rate.unit.value,  # the unit its profiles go in (W or A)
                "profiles_sent": st.profiles_sent,
                "profiles_rejected": st.profiles_rejected,
                "last_rejection": st.last_rejection,
                "callerrors_sent": st.errors_out,
                "refused_handshakes": st.refusals,
                "connectors": connectors,
            }
        )
    return rows
