"""SunSpec discovery: find the "SunS" marker and walk the model chain. Transport-free: it
reads through whatever `read(address, count)` it is given (a link in the daemon, a bare
client in `edge probe`), so the walk is written once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from edge.drivers.modbus_client import DeviceRejected
from edge.drivers.modbus_profile import MAX_REGISTERS_PER_READ
from edge.drivers.sunspec_models import BASE_ADDRESSES, END_MODEL, SUNS, ModelLocation

ReadRegisters = Callable[[int, int], Awaitable[list[int]]]
MAX_MODELS = 64  # a real device has a handful; a chain longer than this is garbage


class NotSunSpec(Exception):
    """The device answers but has no valid SunSpec register map."""


async def scan(read: ReadRegisters, bases: Sequence[int] = BASE_ADDRESSES) -> list[ModelLocation]:
    """The device's models in chain order. Timeouts propagate; refusals try the next base."""
    for base in bases:
        try:
            marker = await read(base, 2)
        except DeviceRejected:
            continue  # illegal address: the map is elsewhere
        if tuple(marker) == SUNS:
            return await _walk(read, base + 2)
    raise NotSunSpec(f"no 'SunS' marker at {', '.join(str(b) for b in bases)}")


async def _walk(read: ReadRegisters, address: int) -> list[ModelLocation]:
    found: list[ModelLocation] = []
    for _ in range(MAX_MODELS):
        try:
            header = await read(address, 2)
        except DeviceRejected:
            header = await read(address, 1)  # the end marker may come without a length
        if header[0] == END_MODEL:
            return found
        if len(header) < 2:
            raise NotSunSpec(f"model {header[0]} at {address} has no length")
        found.append(ModelLocation(header[0], address, header[1]))
        address += 2 + header[1]
        if address > 0xFFFF:
            break
    raise NotSunSpec(f"model chain does not end (after {len(found)} models)")


async def read_model(read: ReadRegisters, location: ModelLocation) -> list[int]:
    """All registers of one model, ID first, in as few reads as the 125-register limit allows.

    A value and its scale factor are read in the same request wherever the model allows it
    (both within the first 125 registers for 701), so an old scale never meets a new value."""
    words: list[int] = []
    while len(words) < location.words:
        count = min(MAX_REGISTERS_PER_READ, location.words - len(words))
        words += await read(location.address + len(words), count)
    return words
