"""The gates' ledger as rows of the local store (table `ledger`, migration 3): who is inside
(key -> since) and the spent nonces (nonce -> remembered until). The read log's windows are
seconds long and are not kept."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from edge.access.credentials import Inside, Spent
from edge.access.entry import Ledger
from edge.store.local_store import LocalStore

KINDS = ("inside", "spent")


def _tables(ledger: Ledger) -> dict[str, Mapping[str, float]]:
    return {"inside": ledger.inside.since, "spent": ledger.spent.until}


async def save(store: LocalStore, old: Ledger, new: Ledger) -> int:
    """Write what changed from `old` to `new` (a few rows per read); returns rows written."""
    written = 0
    before, after = _tables(old), _tables(new)
    for kind in KINDS:
        for key in before[kind].keys() - after[kind].keys():
            await store.write("DELETE FROM ledger WHERE kind=? AND key=?", (kind, key))
            written += 1
        for key, at in after[kind].items():
            if before[kind].get(key) != at:
                await store.write(
                    "INSERT OR REPLACE INTO ledger (kind, key, at) VALUES (?,?,?)", (kind, key, at)
                )
                written += 1
    return written


async def load(store: LocalStore, now: float, max_stay_s: float) -> Ledger:
    """The stored ledger, without what can no longer decide anything (deleted as well)."""
    await store.write("DELETE FROM ledger WHERE kind='spent' AND at < ?", (now,))
    await store.write("DELETE FROM ledger WHERE kind='inside' AND at < ?", (now - max_stay_s,))
    tables: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
    for kind, key, at in await store.read("SELECT kind, key, at FROM ledger"):
        if kind in tables:
            tables[str(kind)][str(key)] = float(at)
    return Ledger(
        inside=Inside(MappingProxyType(tables["inside"])),
        spent=Spent(MappingProxyType(tables["spent"])),
    )
