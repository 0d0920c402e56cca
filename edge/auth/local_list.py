"""The local authorization list's updates, after OCPP SendLocalList. Pure.

* Differential: applied at once if its version is above the list's (else `VersionMismatch`,
  OCPP's answer); an entry with no status removes its token.
* Full: replaces the whole list. A command is at most 16 KiB, so the cloud splits a full
  list into `parts` commands of one version (part 1..parts). Parts are kept (`Assembly`)
  until all have arrived, then the new list replaces the old one in one step: a charger
  never sees half a list. A part of a newer version drops the parts of an older one; a part
  of an older version than the one being assembled, or than the list itself, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from edge.auth.model import ListEntry, ListUpdate, LocalList, UpdateType

MAX_PARTS = 1000  # about 150 000 tokens at 16 KiB per part: far above any hub


class VersionMismatch(ValueError):
    """The update's version does not follow the list's; nothing changed."""


class PartInvalid(ValueError):
    """A part that does not fit the full update being assembled; nothing changed."""


def _no_parts() -> Mapping[int, ListUpdate]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Assembly:
    """The parts of one full update received so far."""

    version: int = 0
    parts: int = 0
    received: Mapping[int, ListUpdate] = field(default_factory=_no_parts)

    def complete(self) -> bool:
        return self.parts > 0 and len(self.received) == self.parts


def apply_differential(current: LocalList, update: ListUpdate) -> LocalList:
    if update.version <= current.version:
        raise VersionMismatch(
            f"auth-list-update: differential version {update.version} must be above the "
            f"list's {current.version}"
        )
    entries = dict(current.entries)
    for token, entry in update.entries:
        if entry is None:
            entries.pop(token, None)
        else:
            entries[token] = entry
    return LocalList(update.version, MappingProxyType(entries))


def add_part(current: LocalList, assembly: Assembly, update: ListUpdate) -> Assembly:
    """The assembly with this part of a full update in it (complete or not)."""
    if update.kind is not UpdateType.FULL:
        raise PartInvalid("auth-list-update: only full updates come in parts")
    if not 1 <= update.part <= update.parts <= MAX_PARTS:
        raise PartInvalid(
            f"auth-list-update: part {update.part} of {update.parts} (parts 1..{MAX_PARTS})"
        )
    if update.version < current.version:
        raise VersionMismatch(
            f"auth-list-update: full version {update.version} is older than the list's "
            f"{current.version}"
        )
    if update.version < assembly.version:
        raise VersionMismatch(
            f"auth-list-update: full version {update.version} is older than version "
            f"{assembly.version} being assembled"
        )
    if update.version > assembly.version:
        assembly = Assembly(update.version, update.parts)
    elif update.parts != assembly.parts:
        raise PartInvalid(
            f"auth-list-update: version {update.version} has {assembly.parts} parts, this "
            f"part says {update.parts}"
        )
    received = dict(assembly.received)
    received[update.part] = update  # a part sent again replaces itself
    return Assembly(assembly.version, assembly.parts, MappingProxyType(received))


def assemble(assembly: Assembly) -> LocalList:
    """The full list from a complete assembly (parts in order; a later part's entry for the
    same token wins)."""
    if not assembly.complete():
        raise PartInvalid(
            f"auth-list-update: version {assembly.version} has {len(assembly.received)} of "
            f"{assembly.parts} parts"
        )
    entries: dict[str, ListEntry] = {}
    for number in sorted(assembly.received):
        for token, entry in assembly.received[number].entries:
            if entry is not None:
                entries[token] = entry
    return LocalList(assembly.version, MappingProxyType(entries))
