"""Authorization as plain types. The statuses are OCPP's (1.6 AuthorizationStatus; 2.0.1
AuthorizationStatusEnumType has the same first four), `Unknown` for a token nobody knows.

A local list entry says what the cloud decided for one id token: its status, until when,
and optionally the booking it belongs to and the bay it is limited to. Times are UTC epoch
seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class AuthStatus(StrEnum):
    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    UNKNOWN = "Unknown"  # in no list, no booking, and the cloud did not say


class AuthSource(StrEnum):
    LOCAL_LIST = "local-list"
    BOOKING = "booking"
    CLOUD = "cloud"
    OFFLINE_POLICY = "offline-policy"


class UpdateType(StrEnum):
    FULL = "full"
    DIFFERENTIAL = "differential"


@dataclass(frozen=True, slots=True)
class ListEntry:
    id_token: str
    status: AuthStatus  # never UNKNOWN in a list
    expiry: float | None = None
    booking: str | None = None
    bay: str | None = None  # None: any bay


def _empty() -> Mapping[str, ListEntry]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class LocalList:
    version: int = 0  # 0: never received (OCPP GetLocalListVersion answers 0 then)
    entries: Mapping[str, ListEntry] = field(default_factory=_empty)

    def get(self, id_token: str) -> ListEntry | None:
        return self.entries.get(normal_token(id_token))


@dataclass(frozen=True, slots=True)
class ListUpdate:
    """One `auth-list-update` command: a differential update, or one part of a full one.
    In a differential update an entry with status None removes the token."""

    version: int
    kind: UpdateType
    entries: tuple[tuple[str, ListEntry | None], ...]  # (id token, entry or None: remove)
    part: int = 1  # 1-based, full updates only
    parts: int = 1


@dataclass(frozen=True, slots=True)
class CloudAnswer:
    status: AuthStatus
    expiry: float | None = None
    booking: str | None = None
    bay: str | None = None


@dataclass(frozen=True, slots=True)
class AuthDecision:
    id_token: str
    status: AuthStatus
    source: AuthSource
    booking: str | None = None
    expiry: float | None = None
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return self.status is AuthStatus.ACCEPTED


def normal_token(id_token: str) -> str:
    """Id tokens compare case-insensitively (RFID UIDs arrive in hex of either case)."""
    return id_token.strip().upper()
