"""From one credential read at a lane to the gate machine's event: identify, then decide.

Pure composition of `credentials`, `qr_token` and `admission`: the read is screened (stale,
replayed and duplicate reads are dropped, they never reach the gate), matched to a booking,
checked against anti-passback, and decided. The result is the decision for the audit log and
the event (GRANT, DENY or REFER) for `gate_machine.step`. Exits always open: an unmatched exit
is flagged, never refused. The shell persists the `Ledger` (reads seen, who is inside, spent
token nonces) in the local store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from edge.access.admission import (
    Arrival,
    Decision,
    Inputs,
    Policy,
    Reason,
    Site,
    VehicleClass,
    Via,
    decide,
)
from edge.access.bookings import Booking
from edge.access.credentials import (
    Inside,
    Read,
    ReadLog,
    ReadVerdict,
    Spent,
    screen_read,
    vehicle_keys,
)
from edge.access.gate_types import Event, EventKind
from edge.access.matching import Demand
from edge.access.plates import (
    CredentialInvalid,
    MatchKind,
    PlateIndex,
    match_plate,
    normalise_plate,
)
from edge.access.qr_token import (
    Claims,
    TokenVerdict,
    VerifiesSignature,
    signed_claims,
    spend,
    verify_token,
)
from edge.siteconf.model import Connector, InletSide


class ReadKind(StrEnum):
    PLATE = "plate"
    QR = "qr"
    RFID = "rfid"


@dataclass(frozen=True, slots=True)
class CredentialRead:
    kind: ReadKind
    value: str  # raw text as read
    reader: str
    taken_at: float  # the reader's own timestamp (UTC s)
    event_id: str | None = None  # camera event id, for webhook retries
    vehicle: VehicleClass = VehicleClass.UNKNOWN  # what the camera classified, if anything
    # What the reader (or the cloud behind it) knows of the vehicle's inlet; None: not said.
    connector: Connector | None = None
    inlet_side: InletSide | None = None


@dataclass(frozen=True, slots=True)
class Ledger:
    reads: ReadLog = field(default_factory=ReadLog)
    inside: Inside = field(default_factory=Inside)
    spent: Spent = field(default_factory=Spent)


@dataclass(frozen=True, slots=True)
class EntryRules:
    verifier: VerifiesSignature
    policy: Policy = field(default_factory=Policy)
    max_stay_s: float = 3 * 86_400.0  # an IN state older than this no longer blocks re-entry
    debounce_s: float = 5.0
    max_read_age_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Outcome:
    screened: ReadVerdict
    decision: Decision | None  # None: the read was dropped (stale, replayed, duplicate)
    event: Event | None  # what to give the lane's machine
    keys: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Directory:
    """Who a credential belongs to: built once per change of the bookings, not per read."""

    plates: PlateIndex
    by_id: Mapping[str, Booking]
    by_rfid: Mapping[str, Booking]

    @classmethod
    def build(cls, bookings: Sequence[Booking]) -> Directory:
        live = [b for b in bookings if b.live()]
        rfid = {b.credentials.rfid_uid.upper(): b for b in live if b.credentials.rfid_uid}
        return cls(PlateIndex.build(live), {b.id: b for b in bookings}, rfid)


_TO_EVENT = {Reason.ACCEPTED: EventKind.GRANT, Reason.REFERRED: EventKind.REFER}


def entry(
    ledger: Ledger,
    read: CredentialRead,
    site: Site,
    directory: Directory,
    lane_plot: str,
    now: float,
    rules: EntryRules,
    ad_hoc: Demand | None = None,
    dwell_s: float = 2700.0,
) -> tuple[Ledger, Outcome]:
    """Identify and decide one read at an entry lane; `ad_hoc` is what an unbooked truck
    declared (connector, inlet side), if it was asked."""
    key = _key(read)
    screened = Read(read.reader, key, read.taken_at, read.event_id)
    reads, verdict = screen_read(
        ledger.reads, screened, now, rules.debounce_s, rules.max_read_age_s
    )
    ledger = replace(ledger, reads=reads)
    if verdict is not ReadVerdict.FRESH:
        return ledger, Outcome(verdict, None, None)
    found = _identify(ledger, read, directory, now, rules)
    if isinstance(found, Decision):
        return ledger, _outcome(found)
    booking, via, claims = found
    keys = vehicle_keys(booking, {key})
    inside = ledger.inside.holds(keys, now, rules.max_stay_s)
    if booking is not None:  # a booking says what it needs and how long it stays
        ad_hoc, dwell_s = None, booking.period.end - now
    vehicle = _vehicle(read, booking)
    arrival = Arrival(
        lane_plot, vehicle, via, booking, ad_hoc, dwell_s, inside,
        connector=read.connector, inlet_side=read.inlet_side,
    )  # fmt: skip
    decision = decide(site, arrival, now, rules.policy)
    if decision.admitted:
        ledger = replace(ledger, inside=ledger.inside.enter(keys, now))
        if claims is not None:  # single use: spent by the entry it granted
            ledger = replace(ledger, spent=spend(ledger.spent, claims, now))
    return ledger, replace(_outcome(decision), keys=keys)


@dataclass(frozen=True, slots=True)
class Exited:
    """What an exit read said: whether it matched a vehicle inside (False is flagged for
    staff, never a refusal) and the booking it names, whose truck is leaving."""

    matched: bool
    booking: str | None = None


def exit_(
    ledger: Ledger,
    read: CredentialRead,
    directory: Directory,
    now: float,
    verifier: VerifiesSignature | None = None,
) -> tuple[Ledger, Exited]:
    """An exit read: the barrier opens whatever it says; the vehicle's IN state is cleared.
    A QR token names its booking only if `verifier` confirms its signature."""
    key = _key(read)
    booking = _exit_booking(read, directory, now, verifier)
    keys = vehicle_keys(booking, {key})
    matched = any(k in ledger.inside.since for k in keys)
    exited = Exited(matched, None if booking is None else booking.id)
    return replace(ledger, inside=ledger.inside.leave(keys)), exited


def _exit_booking(
    read: CredentialRead, directory: Directory, now: float, verifier: VerifiesSignature | None
) -> Booking | None:
    if read.kind is ReadKind.PLATE:
        try:
            return match_plate(read.value, directory.plates, now).booking
        except CredentialInvalid:
            return None
    if read.kind is ReadKind.RFID:
        return directory.by_rfid.get(read.value.upper())
    claims = signed_claims(read.value, verifier) if verifier is not None else None
    return directory.by_id.get(claims.booking_id) if claims is not None else None


def _key(read: CredentialRead) -> str:
    if read.kind is ReadKind.PLATE:
        try:
            return f"plate:{normalise_plate(read.value)}"
        except CredentialInvalid:
            return f"plate?:{read.value[:32]}"
    return f"{read.kind}:{read.value[:400].upper()}"


def _identify(
    ledger: Ledger, read: CredentialRead, directory: Directory, now: float, rules: EntryRules
) -> tuple[Booking | None, Via, Claims | None] | Decision:
    if read.kind is ReadKind.PLATE:
        try:
            match = match_plate(read.value, directory.plates, now)
        except CredentialInvalid as exc:  # badge, panel or ad text: staff looks, no refusal
            return _refusal(Reason.REFERRED, str(exc), now, read)
        if match.kind is MatchKind.AMBIGUOUS:
            return _refusal(Reason.REFERRED, f"plate matches {match.candidates}", now, read)
        return match.booking, Via.PLATE, None
    if read.kind is ReadKind.RFID:
        return directory.by_rfid.get(read.value.upper()), Via.RFID, None
    check = verify_token(read.value, rules.verifier, ledger.spent, now)
    if check.verdict is not TokenVerdict.OK or check.claims is None:
        return _refusal(_QR_REASON[check.verdict], f"qr {check.detail}", now, read)
    booking = directory.by_id.get(check.claims.booking_id)
    if booking is None or booking.credentials.qr_nonce not in (None, check.claims.nonce):
        return _refusal(
            Reason.INVALID, "qr token not (or no longer) issued for a booking", now, read
        )
    return booking, Via.QR, check.claims


_QR_REASON = {
    TokenVerdict.MALFORMED: Reason.INVALID,
    TokenVerdict.BAD_SIGNATURE: Reason.INVALID,
    TokenVerdict.NOT_YET_VALID: Reason.NOT_AT_THIS_TIME,
    TokenVerdict.EXPIRED: Reason.EXPIRED,
    TokenVerdict.REPLAYED: Reason.BLOCKED,
}


def _vehicle(read: CredentialRead, booking: Booking | None) -> VehicleClass:
    """A booking vouches for an electric truck unless the camera saw something else."""
    if booking is not None and read.vehicle in (
        VehicleClass.UNKNOWN,
        VehicleClass.TRUCK,
        VehicleClass.ELECTRIC_TRUCK,
    ):
        return VehicleClass.ELECTRIC_TRUCK
    return read.vehicle


def _refusal(reason: Reason, detail: str, now: float, read: CredentialRead) -> Decision:
    inputs = Inputs(now, None, None, read.vehicle.value, read.kind.value, now, 0, 0, 0)
    return Decision(reason, detail, inputs)


def _outcome(decision: Decision) -> Outcome:
    kind = _TO_EVENT.get(decision.reason, EventKind.DENY)
    return Outcome(ReadVerdict.FRESH, decision, Event(kind, detail=decision.detail))
