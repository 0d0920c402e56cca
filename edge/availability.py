"""Which bays and chargers are in service: decisions over plain data. Pure, no I/O.

A technician (`edge bay disable|enable`) or the cloud (`bay-availability`) records a
`Change`: a target (a bay, or a charger and with it all its bays) taken out of service or
put back, with a reason, optionally only `until` a time. The effective availability at `now`
is, per target, the latest change by time (`at`; the later one recorded wins a tie) among
those not yet expired; without one the target is available. So `disable --until 14:00`
lapses back to whatever held before, and `enable --until` lets a disabled bay run a test
charge and fall back to disabled. A bay is unavailable when it or its charger is out.

Times are UTC seconds since the epoch; the shell (edge/availability_owner.py) persists
changes, stamps them and parses the technician's times. Power sharing and site access read
`View` (allocator inputs, bay assignment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum

from edge.siteconf.model import SiteConfig

MAX_REASON = 200  # as the cloud command's schema allows
MAX_AHEAD_S = 3653 * 86400.0  # 10 years; further out is a typo (and may not be printable)


class Kind(Enum):
    BAY = "bay"
    CHARGER = "charger"


class Source(Enum):
    TECHNICIAN = "technician"  # a local user, through `edge bay`
    CLOUD = "cloud"  # the `bay-availability` command


@dataclass(frozen=True, slots=True)
class Change:
    target: str
    kind: Kind
    available: bool
    reason: str
    at: float  # when it was recorded, UTC epoch seconds
    until: float | None  # None: until the next change
    source: Source
    by: str  # the local user name, or "cloud"

    def in_force(self, now: float) -> bool:
        return self.at <= now and (self.until is None or now < self.until)


@dataclass(frozen=True, slots=True)
class Topology:
    """Bay -> its charger, from the site file."""

    bays: Mapping[str, str]
    chargers: frozenset[str]

    @classmethod
    def of(cls, config: SiteConfig) -> Topology:
        return cls({b.id: b.charger for b in config.bays}, frozenset(c.id for c in config.chargers))

    def kind_of(self, target: str) -> Kind:
        if target in self.bays:
            return Kind.BAY
        if target in self.chargers:
            return Kind.CHARGER
        raise ValueError(f"availability: {target!r} is neither a bay nor a charger of this site")


@dataclass(frozen=True, slots=True)
class View:
    """The effective availability at one time."""

    at: float
    out_of_service: Mapping[str, Change]  # target -> the disabling change in force
    unavailable_bays: tuple[str, ...]

    def why(self, topology: Topology, bay: str) -> tuple[Change, ...]:
        """The changes that keep `bay` out of service: its own, then its charger's."""
        own = self.out_of_service.get(bay)
        charger = self.out_of_service.get(topology.bays.get(bay, ""))
        return tuple(c for c in (own, charger) if c is not None)


def check_reason(reason: str, *, required: bool) -> str:
    """The reason as given, or ValueError naming the problem (it reaches logs and the cloud)."""
    if required and not reason.strip():
        raise ValueError("reason: required when taking a bay or charger out of service")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason: at most {MAX_REASON} characters, got {len(reason)}")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in reason):
        raise ValueError("reason: control characters (newline, tab, ...) are not allowed")
    return reason


def check_until(until: float | None, now: float) -> float | None:
    """`until` if it is ahead of `now` and within MAX_AHEAD_S, else ValueError."""
    if until is None:
        return None
    if not until > now:  # also refuses NaN
        raise ValueError(f"until: {until:.0f} is not in the future (now {now:.0f}, UTC s)")
    if until - now > MAX_AHEAD_S:
        days = MAX_AHEAD_S / 86400
        raise ValueError(
            f"until: more than {days:.0f} days ahead; leave it out to hold until changed"
        )
    return until


def latest_in_force(changes: Iterable[Change], now: float) -> dict[str, Change]:
    """Per target, the change that decides it at `now` (last writer by time wins)."""
    out: dict[str, Change] = {}
    for change in changes:
        if not change.in_force(now):
            continue
        held = out.get(change.target)
        if held is None or change.at >= held.at:
            out[change.target] = change
    return out


def view(changes: Iterable[Change], topology: Topology, now: float) -> View:
    deciding = latest_in_force(changes, now)
    out = {t: c for t, c in sorted(deciding.items()) if not c.available}
    bays = sorted(b for b, charger in topology.bays.items() if b in out or charger in out)
    return View(now, out, tuple(bays))


def next_expiry(changes: Iterable[Change], now: float) -> float | None:
    """The next time after `now` at which a change lapses or starts (the view may change)."""
    times = [c.until for c in changes if c.until is not None and c.until > now]
    times += [c.at for c in changes if c.at > now]
    return min(times, default=None)


def still_relevant(changes: Iterable[Change], now: float) -> list[Change]:
    """The changes that can still decide a target at `now` or later, in their order.

    A lapsed change never comes back; one followed (by time) by a change without `until`
    for the same target is overridden for good. What remains stays small however long the
    site runs, so the owner keeps it in memory.
    """
    ordered = list(changes)
    forever: dict[str, float] = {}
    for c in ordered:
        if c.until is None and c.at <= now:
            forever[c.target] = max(forever.get(c.target, c.at), c.at)
    return [
        c
        for c in ordered
        if (c.until is None or c.until > now) and c.at >= forever.get(c.target, c.at)
    ]
