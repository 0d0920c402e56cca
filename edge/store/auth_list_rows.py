"""The local authorization list in the local store (tables `auth_list` and
`auth_list_parts`, migration 4 "authorization"). The list is one row: a full update replaces
it in one statement. Parts of a full update survive a restart, so a cloud that sent some
parts before the restart only sends the rest."""

from __future__ import annotations

from types import MappingProxyType

from edge.auth import wire
from edge.auth.local_list import Assembly
from edge.auth.model import ListUpdate, LocalList, UpdateType
from edge.store.local_store import LocalStore


async def save_list(store: LocalStore, local: LocalList) -> None:
    await store.write(
        "INSERT OR REPLACE INTO auth_list (id, version, body) VALUES (1, ?, ?)",
        (local.version, wire.list_text(local)),
    )
    await store.write("DELETE FROM auth_list_parts WHERE version <= ?", (local.version,))


async def save_part(store: LocalStore, update: ListUpdate, *, new_version: bool) -> None:
    """Store one part; the first part of a newer version drops an unfinished older one."""
    if new_version:
        await store.write("DELETE FROM auth_list_parts WHERE version < ?", (update.version,))
    body = wire.entries_text([e for _, e in update.entries if e is not None])
    await store.write(
        "INSERT OR REPLACE INTO auth_list_parts (version, part, parts, body) VALUES (?,?,?,?)",
        (update.version, update.part, update.parts, body),
    )


async def load(store: LocalStore) -> tuple[LocalList, Assembly]:
    rows = await store.read("SELECT version, body FROM auth_list WHERE id = 1")
    local = LocalList()
    if rows:
        entries = {e.id_token: e for e in wire.entries_of(str(rows[0][1]))}
        local = LocalList(int(rows[0][0]), MappingProxyType(entries))
    parts = await store.read(
        "SELECT version, part, parts, body FROM auth_list_parts WHERE version >= ? "
        "ORDER BY version DESC, part",
        (local.version,),
    )
    if not parts:
        return local, Assembly()
    version, count = int(parts[0][0]), int(parts[0][2])
    received = {
        int(p): ListUpdate(
            version,
            UpdateType.FULL,
            tuple((e.id_token, e) for e in wire.entries_of(str(body))),
            int(p),
            count,
        )
        for v, p, n, body in parts
        if int(v) == version and int(n) == count
    }
    return local, Assembly(version, count, MappingProxyType(received))
