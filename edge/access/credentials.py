"""Identification rules: plates, duplicate reads, anti-passback and one-time nonces.

Plates are compared in a normal form (A-Z, 0-9, no separators) and, for fuzzy matching, in a
canonical form where OCR-confusable characters share a bucket (O/Q/D->0, I/L->1, B->8, S->5,
Z->2, G->6). An inexact match is accepted only against bookings active in their window, only
when it is unambiguous: a runner-up as close as the best refers the truck to staff.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from edge.access.bookings import Booking

MAX_RAW_PLATE = 32
MIN_FUZZY_LENGTH = 5  # shorter plates are too easy to hit by accident
_CONFUSABLE = str.maketrans("OQDILBSZG", "000118526")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_SEPARATORS = frozenset(" -._·/:")


class CredentialInvalid(ValueError):
    """A read that cannot be a credential; the message says why."""


def normalise_plate(raw: str) -> str:
    """Upper case, separators dropped; anything else outside A-Z0-9 is refused."""
    if len(raw) > MAX_RAW_PLATE:
        raise CredentialInvalid(f"plate read: {len(raw)} characters, at most {MAX_RAW_PLATE}")
    out = []
    for ch in raw.upper():
        if ch in _ALNUM:
            out.append(ch)
        elif ch not in _SEPARATORS:
            raise CredentialInvalid(f"plate read: character {ch!r} is not a plate character")
    plate = "".join(out)
    if not 2 <= len(plate) <= 12:
        raise CredentialInvalid(f"plate read: {len(plate)} plate characters, need 2-12")
    return plate


def canonical_plate(plate: str) -> str:
    """The confusable-bucket form of a normalised plate."""
    return plate.translate(_CONFUSABLE)


class MatchKind(StrEnum):
    EXACT = "exact"
    CONFUSABLE = "confusable"  # equal once confusable characters are bucketed
    FUZZY = "fuzzy"  # one edit away, and nobody else is as close
    AMBIGUOUS = "ambiguous"  # two active bookings as close: staff decides
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PlateMatch:
    kind: MatchKind
    plate: str  # the normalised read, kept with the raw read as evidence
    booking: Booking | None
    candidates: tuple[str, ...] = ()  # booking ids considered equally good (ambiguous)


def match_plate(raw: str, bookings: Sequence[Booking], now: float) -> PlateMatch:
    """The booking a plate read belongs to. Raises CredentialInvalid for a non-plate read."""
    plate = normalise_plate(raw)
    live = [b for b in bookings if not b.status.final]
    exact = [b for b in live if plate in _plates(b)]
    if exact:  # prefer the booking whose window holds now, then the nearest start
        exact.sort(key=lambda b: (not b.in_window(now), abs(b.period.start - now), b.id))
        return PlateMatch(MatchKind.EXACT, plate, exact[0])
    active = [b for b in live if b.awaited() and b.in_window(now)]
    canon = canonical_plate(plate)
    scored = sorted(
        (min(_distance(canon, canonical_plate(p)) for p in _plates(b)), b.id, b)
        for b in active
        if _plates(b)
    )
    if not scored or scored[0][0] > 1 or (scored[0][0] == 1 and len(plate) < MIN_FUZZY_LENGTH):
        return PlateMatch(MatchKind.NONE, plate, None)
    best = scored[0][0]
    ties = tuple(bid for d, bid, _ in scored if d <= best + (1 if best == 1 else 0))
    if len(ties) > 1:
        return PlateMatch(MatchKind.AMBIGUOUS, plate, None, ties)
    kind = MatchKind.CONFUSABLE if best == 0 else MatchKind.FUZZY
    return PlateMatch(kind, plate, scored[0][2])


def _plates(booking: Booking) -> set[str]:
    out = set()
    for p in booking.credentials.plates():
        try:
            out.add(normalise_plate(p))
        except CredentialInvalid:
            continue  # validated at ingest; a bad one simply never matches
    return out


def _distance(a: str, b: str, cap: int = 2) -> int:
    """Levenshtein distance, capped: only 0, 1 and 'more' matter here."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(row) >= cap:
            return cap
        prev = row
    return min(prev[-1], cap)


# --- duplicate reads ---------------------------------------------------------------------


def _empty() -> Mapping[Any, float]:
    return MappingProxyType({})


class ReadVerdict(StrEnum):
    FRESH = "fresh"
    DUPLICATE = "duplicate"  # same credential at the same reader within the debounce window
    REPLAYED = "replayed"  # an event id already seen (webhook retry, replay)
    STALE = "stale"  # taken too long ago, or in the future (clock skew)


@dataclass(frozen=True, slots=True)
class Read:
    reader: str
    credential: str  # normalised plate, QR nonce or RFID uid, prefixed by its kind
    taken_at: float  # the reader's timestamp (UTC s)
    event_id: str | None = None  # camera event uuid


@dataclass(frozen=True, slots=True)
class ReadLog:
    last: Mapping[tuple[str, str], float] = field(default_factory=_empty)  # -> last seen
    events: Mapping[str, float] = field(default_factory=_empty)  # event id -> seen at


def screen_read(
    log: ReadLog, read: Read, now: float, debounce_s: float = 5.0, max_age_s: float = 5.0
) -> tuple[ReadLog, ReadVerdict]:
    """Debounce (sliding: a card held at the reader is one read), dedupe, and age check."""
    if read.taken_at < now - max_age_s or read.taken_at > now + max_age_s:
        return log, ReadVerdict.STALE
    keep = now - max(debounce_s, 2 * max_age_s)
    events = {k: t for k, t in log.events.items() if t >= keep}
    last = {k: t for k, t in log.last.items() if t >= now - debounce_s}
    if read.event_id is not None:
        if read.event_id in events:
            return ReadLog(MappingProxyType(last), MappingProxyType(events)), ReadVerdict.REPLAYED
        events[read.event_id] = now
    key = (read.reader, read.credential)
    verdict = ReadVerdict.DUPLICATE if key in last else ReadVerdict.FRESH
    last[key] = now
    return ReadLog(MappingProxyType(last), MappingProxyType(events)), verdict


# --- anti-passback -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inside:
    """Credentials on site since when; an entry records all of a vehicle's credentials."""

    since: Mapping[str, float] = field(default_factory=_empty)

    def holds(self, keys: Iterable[str], now: float, max_stay_s: float) -> bool:
        """Any of `keys` inside, unless its stay passed `max_stay_s` (a missed exit read
        must not lock a truck out forever)."""
        return any(now - self.since[k] <= max_stay_s for k in keys if k in self.since)

    def enter(self, keys: Iterable[str], now: float) -> Inside:
        return Inside(MappingProxyType({**self.since, **dict.fromkeys(keys, now)}))

    def leave(self, keys: Iterable[str]) -> Inside:
        gone = set(keys)
        return Inside(MappingProxyType({k: t for k, t in self.since.items() if k not in gone}))


def vehicle_keys(booking: Booking | None, read_keys: Iterable[str]) -> frozenset[str]:
    """All the keys of one vehicle: what was read plus, if booked, every booking credential,
    so that an exit read of the trailer plate alone matches the entry."""
    keys = set(read_keys)
    if booking is not None:
        keys |= {f"plate:{p}" for p in _plates(booking)}
        keys.add(f"booking:{booking.id}")
        if booking.credentials.rfid_uid:
            keys.add(f"rfid:{booking.credentials.rfid_uid.upper()}")
    return frozenset(keys)


# --- one-time nonces (QR tokens, remote commands) -------------------------------------------


@dataclass(frozen=True, slots=True)
class Spent:
    until: Mapping[str, float] = field(default_factory=_empty)  # nonce -> remembered until

    def has(self, nonce: str) -> bool:
        return nonce in self.until

    def spend(self, nonce: str, keep_until: float, now: float) -> Spent:
        """Remember `nonce` until `keep_until` (its expiry: after that, expiry refuses it)."""
        kept = {k: t for k, t in self.until.items() if t >= now}
        kept[nonce] = keep_until
        return Spent(MappingProxyType(kept))


class RemoteVerdict(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    REPLAYED = "replayed"


def check_remote(
    spent: Spent, nonce: str, not_after: float, now: float
) -> tuple[Spent, RemoteVerdict]:
    """A remote command (cloud open, hold) runs once and never after its not_after."""
    if now > not_after:
        return spent, RemoteVerdict.EXPIRED
    if spent.has(nonce):
        return spent, RemoteVerdict.REPLAYED
    return spent.spend(nonce, not_after, now), RemoteVerdict.OK
