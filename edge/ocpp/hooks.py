"""Where the OCPP endpoint hands over to authorization and billing (issue 11, items 5-6).

Two small ports the lead connects: `Authorizes` (edge/auth: the local list, the cloud's
answer, the offline policy) and `TracksSessions` (the session tracker that sends
`events/session` and `events/meter-values` through the outbox). Until they are connected,
`AcceptAll` accepts every token (a site without authorization: the cabinets' own default)
and `NoSessions` records nothing. Both are called from the message handlers, after the
process image is updated; neither may block for long (the charge point waits for our answer:
keep a call under the charger's own timeout, a few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AuthDecision:
    accepted: bool
    status: str = "Accepted"  # the OCPP AuthorizationStatus word to answer
    reason: str = ""


class Authorizes(Protocol):
    async def authorize(self, id_token: str, bay: str | None) -> AuthDecision: ...


class TracksSessions(Protocol):
    def started(
        self, bay: str, tx: str, id_token: str, meter_start_wh: float | None, at: float
    ) -> None: ...
    def meter_values(
        self, bay: str, tx: str | None, raw: list[dict[str, Any]], at: float
    ) -> None: ...
    def ended(
        self, bay: str, tx: str, meter_stop_wh: float | None, reason: str, at: float
    ) -> None: ...


class AcceptAll:
    async def authorize(self, id_token: str, bay: str | None) -> AuthDecision:
        return AuthDecision(True, "Accepted", "no authorization connected")


class NoSessions:
    def started(
        self, bay: str, tx: str, id_token: str, meter_start_wh: float | None, at: float
    ) -> None:
        return None

    def meter_values(self, bay: str, tx: str | None, raw: list[dict[str, Any]], at: float) -> None:
        return None

    def ended(self, bay: str, tx: str, meter_stop_wh: float | None, reason: str, at: float) -> None:
        return None
