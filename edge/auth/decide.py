"""The authorization decision. Pure: the list, the bookings and the cloud's answer in, a
decision out.

In order:
1. A booking credential (its RFID uid or id token) authorizes its own bay while the booking
   is confirmed and its truck may be on site (from the gate window's opening to the booked
   end plus the late-stop allowance); at another bay the booking does not count.
2. The local list: Blocked, Expired (or past its expiry) and Invalid stand as they are;
   Accepted stands at once when `local_pre_authorize` (OCPP LocalPreAuthorize), else the
   cloud is asked first. An entry limited to a bay is Invalid at another bay.
3. The cloud's answer.
4. No answer (offline or timed out): a token Accepted in the list is accepted if
   `offline_accept_known`; an unknown one only if `offline_accept_unknown`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from edge.access.bookings import Booking, BookingStatus, Phase
from edge.auth.model import (
    AuthDecision,
    AuthSource,
    AuthStatus,
    CloudAnswer,
    ListEntry,
    LocalList,
    normal_token,
)
from edge.siteconf.model import Authorization as Policy

BayOf = Callable[[str], str | None]  # booking id -> the bay it is assigned or parked on


def booking_decision(
    token: str, bay: str | None, now: float, bookings: Iterable[Booking], bay_of: BayOf
) -> AuthDecision | None:
    for b in bookings:
        uid = b.credentials.rfid_uid
        if uid is None or normal_token(uid) != token or not _may_charge(b, now):
            continue
        own = bay_of(b.id)
        if bay is None or own == bay:
            return AuthDecision(token, AuthStatus.ACCEPTED, AuthSource.BOOKING, b.id, b.period.end)
    return None


def _may_charge(b: Booking, now: float) -> bool:
    if b.status is not BookingStatus.RESERVED or b.phase is Phase.DEPARTED:
        return False
    opens, _ = b.window()
    return opens <= now <= b.period.end + b.terms.late_stop_s


def list_decision(entry: ListEntry, bay: str | None, now: float) -> AuthDecision:
    token = entry.id_token
    src = AuthSource.LOCAL_LIST
    if entry.expiry is not None and now > entry.expiry:
        return AuthDecision(token, AuthStatus.EXPIRED, src, entry.booking, entry.expiry, "expired")
    if entry.status is AuthStatus.ACCEPTED and entry.bay is not None and entry.bay != bay:
        why = f"limited to bay {entry.bay}"
        return AuthDecision(token, AuthStatus.INVALID, src, entry.booking, entry.expiry, why)
    return AuthDecision(token, entry.status, src, entry.booking, entry.expiry)


def before_cloud(
    id_token: str,
    bay: str | None,
    now: float,
    local: LocalList,
    bookings: Iterable[Booking],
    bay_of: BayOf,
    policy: Policy,
) -> tuple[AuthDecision | None, AuthDecision | None]:
    """(the decision, or None: ask the cloud; what the list says, kept for offline)."""
    token = normal_token(id_token)
    booked = booking_decision(token, bay, now, bookings, bay_of)
    if booked is not None:
        return booked, booked
    entry = local.get(token)
    if entry is None:
        return None, None
    listed = list_decision(entry, bay, now)
    if not listed.accepted or policy.local_pre_authorize:
        return listed, listed
    return None, listed


def after_cloud(
    id_token: str,
    bay: str | None,
    listed: AuthDecision | None,
    answer: CloudAnswer | None,
    policy: Policy,
    why_none: str,
) -> AuthDecision:
    token = normal_token(id_token)
    if answer is not None:
        status = answer.status
        detail = ""
        if status is AuthStatus.ACCEPTED and answer.bay is not None and answer.bay != bay:
            status, detail = AuthStatus.INVALID, f"limited to bay {answer.bay}"
        return AuthDecision(token, status, AuthSource.CLOUD, answer.booking, answer.expiry, detail)
    offline = AuthSource.OFFLINE_POLICY
    if listed is not None and listed.accepted:
        status = AuthStatus.ACCEPTED if policy.offline_accept_known else AuthStatus.INVALID
        return AuthDecision(token, status, offline, listed.booking, listed.expiry, why_none)
    status = AuthStatus.ACCEPTED if policy.offline_accept_unknown else AuthStatus.UNKNOWN
    return AuthDecision(token, status, offline, detail=why_none)
