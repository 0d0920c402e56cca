"""Licence plates: normal form, confusable buckets, and matching a read to a booking.

Plates are compared in a normal form (A-Z, 0-9, no separators) and, for fuzzy matching, in a
canonical form where OCR-confusable characters share a bucket (O/Q/D->0, I/L->1, B->8, S->5,
Z->2, G->6). An exact match may name any live booking (admission then judges its window); an
inexact one is accepted only against bookings active in their window, and only when no other
active booking is as close (a tie refers the truck to staff). Raw reads are kept as evidence
by the caller. `PlateIndex` is built once per change of the bookings, not per read.

Plates one edit apart share a form with one character deleted (a substitution at i: both
without i; an insertion: the longer without it is the shorter), so the index keeps canonical
plates under themselves and their one-deletion forms, and a read is compared only with the
bookings sharing one of its own forms, not with every booking active in its window. These
forms are worked out per block of BLOCK bookings (by start), when a read first needs that
block: building the index stays one pass, and a read pays at most for the few blocks its
window newly reaches.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from edge.access.bookings import MAX_EARLY_START_S, MAX_NOSHOW_S, Booking

MAX_RAW_PLATE = 32
MIN_FUZZY_LENGTH = 5  # shorter plates are too easy to hit by accident
BLOCK = 256  # bookings whose near forms are worked out together
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


def plates_of(booking: Booking) -> frozenset[str]:
    out = set()
    for p in booking.credentials.plates():
        try:
            out.add(normalise_plate(p))
        except CredentialInvalid:
            continue  # validated at ingest; a bad one simply never matches
    return frozenset(out)


class MatchKind(StrEnum):
    EXACT = "exact"
    CONFUSABLE = "confusable"  # equal once confusable characters are bucketed
    FUZZY = "fuzzy"  # one edit away, and nobody else is as close
    AMBIGUOUS = "ambiguous"  # two active bookings as close: staff decides
    NONE = "none"


@dataclass(frozen=True, slots=True)
class PlateMatch:
    kind: MatchKind
    plate: str  # the normalised read
    booking: Booking | None
    candidates: tuple[str, ...] = ()  # booking ids equally close (ambiguous)


@dataclass(frozen=True, slots=True)
class PlateIndex:
    exact: Mapping[str, tuple[Booking, ...]]  # normalised plate -> live bookings
    starts: tuple[float, ...]  # period.start of `entries`, sorted
    entries: tuple[tuple[Booking, frozenset[str]], ...]  # (booking, canonical plates)
    # block number -> (form -> indices in `entries`), filled when a read first needs it: a
    # memo of `_near_block`, which depends on `entries` only
    near: dict[int, Mapping[str, list[int]]] = field(default_factory=dict, compare=False)

    @classmethod
    def build(cls, bookings: Sequence[Booking]) -> PlateIndex:
        live = sorted((b for b in bookings if b.live()), key=lambda b: b.period.start)
        exact: dict[str, list[Booking]] = {}
        entries = []
        for b in live:
            plates = plates_of(b)
            for p in plates:
                exact.setdefault(p, []).append(b)
            entries.append((b, frozenset(canonical_plate(p) for p in plates)))
        return cls(
            {p: tuple(bs) for p, bs in exact.items()},
            tuple(b.period.start for b, _ in entries),
            tuple(entries),
        )

    def active(self, now: float) -> list[tuple[Booking, frozenset[str]]]:
        """Bookings awaited and inside their window (early start and no-show are bounded)."""
        lo = bisect_left(self.starts, now - MAX_NOSHOW_S)
        hi = bisect_right(self.starts, now + MAX_EARLY_START_S)
        return [e for e in self.entries[lo:hi] if e[0].awaited() and e[0].in_window(now)]

    def active_near(self, canon: str, now: float) -> list[tuple[Booking, frozenset[str]]]:
        """The entries of `active(now)` that may be one edit or less from `canon`."""
        lo = bisect_left(self.starts, now - MAX_NOSHOW_S)
        hi = bisect_right(self.starts, now + MAX_EARLY_START_S)
        forms = _forms(canon)
        ids: set[int] = set()
        for block in range(lo // BLOCK, (hi + BLOCK - 1) // BLOCK):
            near = self.near.get(block)
            if near is None:
                near = self.near[block] = _near_block(self.entries, block)
            ids.update(i for f in forms for i in near.get(f, ()) if lo <= i < hi)
        found = [self.entries[i] for i in sorted(ids)]
        return [e for e in found if e[0].awaited() and e[0].in_window(now)]


def _near_block(
    entries: Sequence[tuple[Booking, frozenset[str]]], block: int
) -> Mapping[str, list[int]]:
    near: dict[str, list[int]] = {}
    for i in range(block * BLOCK, min(len(entries), (block + 1) * BLOCK)):
        for form in {f for c in entries[i][1] for f in _forms(c)}:
            near.setdefault(form, []).append(i)
    return near


def _forms(canon: str) -> set[str]:
    """The plate and its forms with one character deleted."""
    return {canon, *(canon[:i] + canon[i + 1 :] for i in range(len(canon)))}


def match_plate(raw: str, index: PlateIndex, now: float) -> PlateMatch:
    """The booking a plate read belongs to. Raises CredentialInvalid for a non-plate read."""
    plate = normalise_plate(raw)
    exact = list(index.exact.get(plate, ()))
    if exact:  # prefer the booking whose window holds now, then the nearest start
        exact.sort(key=lambda b: (not b.in_window(now), abs(b.period.start - now), b.id))
        return PlateMatch(MatchKind.EXACT, plate, exact[0])
    canon = canonical_plate(plate)
    scored = []
    for booking, canon_plates in index.active_near(canon, now):
        d = min((_within_one(canon, c) for c in canon_plates), default=2)
        if d <= 1:
            scored.append((d, booking.id, booking))
    scored.sort(key=lambda x: (x[0], x[1]))
    if not scored or (scored[0][0] == 1 and len(plate) < MIN_FUZZY_LENGTH):
        return PlateMatch(MatchKind.NONE, plate, None)
    best = scored[0][0]
    ties = tuple(bid for d, bid, _ in scored if d == best)
    if len(ties) > 1:
        return PlateMatch(MatchKind.AMBIGUOUS, plate, None, ties)
    kind = MatchKind.CONFUSABLE if best == 0 else MatchKind.FUZZY
    return PlateMatch(kind, plate, scored[0][2])


def _within_one(a: str, b: str) -> int:
    """Edit distance 0, 1, or 2 meaning 'more' (one substitution, insertion or deletion)."""
    if a == b:
        return 0
    if len(a) == len(b):
        return 1 if sum(x != y for x, y in zip(a, b, strict=True)) == 1 else 2
    if abs(len(a) - len(b)) != 1:
        return 2
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return 1 if short[i:] == long_[i + 1 :] else 2
