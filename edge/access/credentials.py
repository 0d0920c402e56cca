"""Identification rules: duplicate reads, anti-passback and one-time nonces (QR tokens,
remote commands). Plates are in `edge.access.plates`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from edge.access.bookings import Booking
from edge.access.plates import plates_of

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
        keys |= {f"plate:{p}" for p in plates_of(booking)}
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
