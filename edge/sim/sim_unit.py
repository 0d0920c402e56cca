"""One simulated Modbus unit: its profile, its behaviour model, its faults. No pymodbus here.

The unit's register image is laid out from the same profile the driver reads, so a profile
and its simulator cannot drift apart. Writes are recorded; a write to a command point with a
`confirm` point (a relay coil and its read-back, say) is applied to the read-back, as the
device would. The model sees every write (`on_write`) so it can react (a cabinet follows
its setpoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from edge.drivers.codec import DecodeError, decode_words, encode_value
from edge.drivers.modbus_profile import Point, Profile, Table


class Model(Protocol):
    def values(self, wall: float) -> Mapping[str, float]:
        """What each point reads at `wall`; points left out keep their register contents."""
        ...


class WriteAwareModel(Model, Protocol):
    def on_write(self, point: str, value: float, wall: float) -> None: ...


@dataclass(slots=True)
class Fault:
    """Injected misbehaviour; change the fields while the server runs."""

    silent: bool = False  # never answer (a dead or unplugged unit)
    delay_s: float = 0.0  # answer this late ...
    delay_every: int = 1  # ... on every n-th request (1: all of them)
    exception: int | None = None  # answer with this Modbus exception code
    frozen: bool = False  # keep returning the same values (a hung meter)
    bad_crc: bool = False  # corrupt the reply's checksum (RTU) / last byte (TCP)
    garbage: bool = False  # answer with bytes that are no Modbus frame at all
    lying_count: bool = False  # a well-framed reply whose byte count claims more than it holds

    def delay_for(self, request_number: int) -> float:
        if self.delay_s <= 0 or self.delay_every <= 0:
            return 0.0
        return self.delay_s if request_number % self.delay_every == 0 else 0.0


class ServedUnit(Protocol):
    """What a simulated server needs of a unit (a profile-built unit, a SunSpec unit...)."""

    unit: int
    fault: Fault
    requests: int
    reads: int

    def spans(self) -> dict[Table, tuple[int, int]]: ...
    def on_read(self, table: Table, wall: float) -> None: ...
    def on_write(self, table: Table, address: int, raw: list[int], wall: float) -> None: ...
    def words(self, table: Table, address: int, count: int) -> list[tuple[int, int]]: ...


@dataclass(slots=True)
class SimUnit:
    unit: int
    profile: Profile
    model: Model
    fault: Fault = field(default_factory=Fault)
    requests: int = 0
    reads: int = 0
    writes: list[tuple[str, float]] = field(default_factory=list)  # (point, value)
    # The unit's own image per table (address -> word, or 0/1 for bits); the server copies
    # the requested range into the library's lists on each access.
    image: dict[Table, dict[int, int]] = field(default_factory=dict)

    def spans(self) -> dict[Table, tuple[int, int]]:
        """Address range [start, end) each table needs, written-only points included."""
        out: dict[Table, tuple[int, int]] = {}
        for p in self.profile.points:
            lo, hi = out.get(p.table, (p.address, p.address + p.words))
            out[p.table] = (min(lo, p.address), max(hi, p.address + p.words))
        return out

    def put(self, table: Table, address: int, words: list[int]) -> None:
        target = self.image.setdefault(table, {})
        for i, word in enumerate(words):
            target[address + i] = word

    def on_read(self, table: Table, wall: float) -> None:
        """Bring the model's current values for `table` into the image (unless frozen)."""
        if self.fault.frozen:
            return
        values = self.model.values(wall)
        for point in self.profile.points:
            if point.table is table and point.polled and point.name in values:
                self.put(table, point.address, encode_value(values[point.name], point))

    def on_write(self, table: Table, address: int, raw: list[int], wall: float) -> None:
        """Record a write and apply it the way the device would."""
        self.put(table, address, raw)
        for point in self.profile.points:
            offset = point.address - address
            if point.table is not table or not 0 <= offset <= len(raw) - point.words:
                continue
            value = self._decode(point, raw[offset : offset + point.words])
            if value is None:
                continue
            self.writes.append((point.name, value))
            if point.confirm and point.confirm != point.name:
                target = self.profile.point(point.confirm)
                self.put(target.table, target.address, encode_value(value, target))
            on_write = getattr(self.model, "on_write", None)
            if on_write is not None:
                on_write(point.name, value, wall)

    def words(self, table: Table, address: int, count: int) -> list[tuple[int, int]]:
        """(address, word) of the image in [address, address + count)."""
        known = self.image.get(table, {})
        return [(a, known[a]) for a in range(address, address + count) if a in known]

    @staticmethod
    def _decode(point: Point, words: list[int]) -> float | None:
        try:
            return decode_words(words, point)
        except DecodeError:
            return None


class StaticModel:
    """Fixed values per point; tests use distinct values to catch any mix-up."""

    def __init__(self, values: Mapping[str, float]) -> None:
        self.current = dict(values)

    def values(self, wall: float) -> Mapping[str, float]:
        return self.current

    def on_write(self, point: str, value: float, wall: float) -> None:
        if point in self.current:
            self.current[point] = value
