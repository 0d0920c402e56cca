"""The OCPP endpoint's hooks (edge/ocpp/hooks.py) onto the daemon's authorizer (edge/auth)
and session log (edge/billing): tokens are decided by the local list, bookings, the cloud
and the offline policy; transactions and meter values go out as `events/session` and
`events/meter-values`, signed values as the charger sent them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from edge.auth.authorizer import Authorizer
from edge.auth.model import AuthStatus
from edge.billing.model import MeterSample, SignedValue
from edge.billing.session_log import SessionLog
from edge.billing.tracker import TrackerError
from edge.ocpp.hooks import AuthDecision
from edge.ocpp.states import meter_points

log = logging.getLogger(__name__)

# OCPP 1.6 has no "Unknown" status; "Invalid" means the same to a charge point in both versions.
_WIRE_STATUS = {AuthStatus.UNKNOWN: "Invalid"}


class AuthLink:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    async def authorize(self, id_token: str, bay: str | None) -> AuthDecision:
        decision = await self.authorizer.authorize(id_token, bay)
        status = _WIRE_STATUS.get(decision.status, decision.status.value)
        return AuthDecision(decision.accepted, status, f"{decision.source}: {decision.detail}")


class SessionLink:
    """Never raises into a message handler: a transaction the log cannot place is logged."""

    def __init__(self, sessions: SessionLog) -> None:
        self.sessions = sessions

    def started(
        self, bay: str, tx: str, id_token: str, meter_start_wh: float | None, at: float
    ) -> None:
        try:
            self.sessions.started(bay, at, meter_start_wh, transaction_id=tx, id_token=id_token)
        except TrackerError as exc:
            log.error("ocpp_session_not_recorded bay=%s tx=%s reason=%s", bay, tx, exc)

    def meter_values(self, bay: str, tx: str | None, raw: list[dict[str, Any]], at: float) -> None:
        try:
            self.sessions.meter_values(bay, samples(raw, at), transaction_id=tx)
        except TrackerError as exc:
            log.warning("ocpp_meter_values_not_recorded bay=%s tx=%s reason=%s", bay, tx, exc)

    def ended(self, bay: str, tx: str, meter_stop_wh: float | None, reason: str, at: float) -> None:
        try:
            self.sessions.ended(bay, at, meter_stop_wh, reason, transaction_id=tx)
        except TrackerError as exc:
            log.error("ocpp_session_end_not_recorded bay=%s tx=%s reason=%s", bay, tx, exc)


def samples(raw: Iterable[Mapping[str, Any]], received_at: float) -> list[MeterSample]:
    """One sample per MeterValue: its time, the port's measurands, and a signed value kept
    byte for byte (1.6: a SampledValue with format SignedData; 2.0.1: signed_meter_value)."""
    out = []
    for mv in raw:
        points = meter_points([mv])
        values = list(mv.get("sampled_value") or ())
        out.append(
            MeterSample(
                at=_time(mv.get("timestamp"), received_at),
                energy_wh=points.get("energy_register_wh"),
                power_w=points.get("power_w"),
                soc_pct=points.get("ev_soc_pct"),
                signed=next((s for s in map(_signed, values) if s is not None), None),
                context=_context(values),
            )
        )
    return out


def _signed(sv: Mapping[str, Any]) -> SignedValue | None:
    smv = sv.get("signed_meter_value")
    if isinstance(smv, Mapping):  # 2.0.1
        return SignedValue(
            str(smv.get("signed_meter_data", "")),
            signing_method=str(smv.get("signing_method", "")),
            encoding_method=str(smv.get("encoding_method", "")),
            public_key=str(smv.get("public_key", "")),
        )
    if sv.get("format") == "SignedData":  # 1.6
        return SignedValue(str(sv.get("value", "")))
    return None


def _context(values: list[Mapping[str, Any]]) -> str:
    word = str(values[0].get("context", "Sample.Periodic")) if values else "Sample.Periodic"
    return {
        "Transaction.Begin": "start",
        "Transaction.End": "stop",
        "Sample.Clock": "clock",
        "Trigger": "trigger",
    }.get(word, "periodic")


def _time(stamp: object, default: float) -> float:
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return default
