"""Group a profile's points into as few Modbus reads as possible. Pure."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from edge.drivers.codec import BlockDecoder
from edge.drivers.modbus_profile import Point, Profile, Table


@dataclass(frozen=True, slots=True)
class ReadBlock:
    table: Table
    address: int
    count: int
    period_s: float
    points: tuple[Point, ...]
    # Decodes every point of the block from one read's words (worked out once, per plan).
    decoder: BlockDecoder = field(compare=False, repr=False)

    def slice_for(self, point: Point, words: list[int]) -> list[int]:
        start = point.address - self.address
        return words[start : start + point.words]


def plan_reads(profile: Profile, period_override_s: float | None = None) -> tuple[ReadBlock, ...]:
    """Blocks per (table, period), each at most the profile's register limit.

    `period_override_s` (a site's `poll_s`) replaces the fastest period; slower points keep
    their ratio to it, so a meter's energy counters stay slower than its power.
    """
    polled = [p for p in profile.points if p.polled]
    fastest = min(p.period_s for p in polled)
    groups: dict[tuple[Table, float], list[Point]] = defaultdict(list)
    for point in polled:
        period = point.period_s
        if period_override_s is not None:
            period = period_override_s * point.period_s / fastest
        groups[(point.table, period)].append(point)
    blocks: list[ReadBlock] = []
    for (table, period), points in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        # Registers between two points are read through when the gap is small (`max_gap`):
        # one extra request costs far more than a few unused words on the wire.
        max_count = profile.max_registers_per_read if table.is_register else 2000
        current: list[Point] = []
        for point in sorted(points, key=lambda p: p.address):
            if current:
                start = current[0].address
                end = point.address + point.words
                gap = point.address - (current[-1].address + current[-1].words)
                if gap > profile.max_gap or end - start > max_count:
                    blocks.append(_block(table, period, current))
                    current = []
            current.append(point)
        if current:
            blocks.append(_block(table, period, current))
    return tuple(blocks)


def _block(table: Table, period: float, points: list[Point]) -> ReadBlock:
    start = points[0].address
    end = max(p.address + p.words for p in points)
    count = end - start
    return ReadBlock(table, start, count, period, tuple(points), BlockDecoder(start, count, points))
