"""What the outbox keeps when space runs short: pure decisions over plain data, no I/O.

Classes, by what losing them costs:
- events (sessions, billing meter data, gate audit, bookings, alarms): never evicted;
- state: only the latest per stream matters, older undelivered copies are superseded;
- telemetry: thinned (downsampled) first, then evicted oldest first, and expires by TTL.

Telemetry may use the byte budget minus what state uses and minus a reserve held for events
(or what events use, when that is more), so a long outage full of telemetry can never leave
a closing charging session without room.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

# Thinning steps: keep at most one telemetry record per stream per step, smallest step first,
# so old history loses resolution gradually before any of it is dropped outright.
DOWNSAMPLE_STEPS_S: tuple[float, ...] = (5.0, 30.0, 60.0, 300.0, 900.0)
# A wall clock before this is an unset RTC (1970, fake-hwclock): never expire by it.
CLOCK_SANE_AFTER = 1_704_067_200.0  # 2024-01-01T00:00Z


class MsgClass(IntEnum):
    EVENT = 0
    STATE = 1
    TELEMETRY = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def class_of(stream: str) -> MsgClass:
    """A stream's class follows from its first topic level."""
    head = stream.split("/", 1)[0]
    if head == "telemetry":
        return MsgClass.TELEMETRY
    if head == "state":
        return MsgClass.STATE
    return MsgClass.EVENT


@dataclass(frozen=True, slots=True)
class Budget:
    total_bytes: int
    event_reserve_bytes: int


@dataclass(frozen=True, slots=True)
class Usage:
    event_bytes: int = 0
    state_bytes: int = 0
    telemetry_bytes: int = 0


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A telemetry row as the relief plan sees it (created: UTC seconds at accept)."""

    id: int
    stream: str
    created: float
    size: int


@dataclass(frozen=True, slots=True)
class Relief:
    downsampled: tuple[int, ...] = ()
    evicted: tuple[int, ...] = ()

    @property
    def ids(self) -> tuple[int, ...]:
        return self.downsampled + self.evicted


def usage_change(usage: Usage, rows: Iterable[tuple[int, int]], sign: int) -> Usage:
    """`usage` after adding (sign 1) or removing (sign -1) rows given as (class, size)."""
    sizes = [usage.event_bytes, usage.state_bytes, usage.telemetry_bytes]
    for cls, size in rows:
        sizes[cls] += sign * size
    return Usage(*sizes)


def telemetry_allowance(usage: Usage, budget: Budget) -> int:
    held_for_events = max(budget.event_reserve_bytes, usage.event_bytes)
    return max(0, budget.total_bytes - held_for_events - usage.state_bytes)


def telemetry_excess(usage: Usage, budget: Budget) -> int:
    """Bytes of telemetry above what telemetry may occupy (0 when within budget)."""
    return max(0, usage.telemetry_bytes - telemetry_allowance(usage, budget))


def admits_telemetry(size: int, usage: Usage, budget: Budget) -> bool:
    """A telemetry record bigger than all the room telemetry could ever have is refused."""
    return size <= telemetry_allowance(usage, budget)


def events_over_budget(usage: Usage, budget: Budget) -> bool:
    """Events are kept regardless; this only says the alarm should be raised."""
    return usage.event_bytes + usage.state_bytes > budget.total_bytes


def downsample(rows: Sequence[StoredRow], step_s: float) -> tuple[int, ...]:
    """Ids to drop so that each stream keeps at most one row per `step_s` (first one kept).

    `rows` are oldest first. A row is kept when it is at least `step_s` after the last row
    kept in its stream; a clock that went back counts as a new run (row kept).
    """
    last_kept: dict[str, float] = {}
    dropped: list[int] = []
    for row in rows:
        prev = last_kept.get(row.stream)
        if prev is not None and 0.0 <= row.created - prev < step_s:
            dropped.append(row.id)
        else:
            last_kept[row.stream] = row.created
    return tuple(dropped)


def relief_plan(
    rows: Sequence[StoredRow],
    excess_bytes: int,
    steps_s: Sequence[float] = DOWNSAMPLE_STEPS_S,
) -> Relief:
    """Which of the oldest telemetry `rows` (oldest first) to delete to free `excess_bytes`.

    Thin with the smallest step that frees enough; if even the coarsest step does not,
    thin at the coarsest step and then evict the oldest remaining rows until enough is free.
    """
    if excess_bytes <= 0 or not rows:
        return Relief()
    sizes = {r.id: r.size for r in rows}
    thinned: tuple[int, ...] = ()
    for step in steps_s:
        thinned = downsample(rows, step)
        if sum(sizes[i] for i in thinned) >= excess_bytes:
            return Relief(downsampled=thinned)
    freed = sum(sizes[i] for i in thinned)
    gone = set(thinned)
    evicted: list[int] = []
    for row in rows:
        if freed >= excess_bytes:
            break
        if row.id not in gone:
            evicted.append(row.id)
            freed += row.size
    return Relief(downsampled=thinned, evicted=tuple(evicted))


def ttl_cutoff(now_wall: float, ttl_s: float | None) -> float | None:
    """Telemetry created before the returned time has expired; None: expire nothing now.

    With an unset clock, `now` is meaningless, so nothing expires (records would otherwise
    be purged or kept at random after a clock jump).
    """
    if ttl_s is None or ttl_s <= 0 or now_wall < CLOCK_SANE_AFTER:
        return None
    return now_wall - ttl_s


def clock_ok(now_wall: float) -> bool:
    return now_wall >= CLOCK_SANE_AFTER
