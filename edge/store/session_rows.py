"""Charging sessions open now, as rows of the local store (table `billing_open_sessions`,
migration 5 "billing"): written when a session opens or samples, deleted when it ends."""

from __future__ import annotations

from edge.store.local_store import LocalStore


async def save(store: LocalStore, bay: str, body: str) -> None:
    await store.write(
        "INSERT OR REPLACE INTO billing_open_sessions (bay, body) VALUES (?, ?)", (bay, body)
    )


async def delete(store: LocalStore, bay: str) -> None:
    await store.write("DELETE FROM billing_open_sessions WHERE bay = ?", (bay,))


async def load(store: LocalStore) -> list[tuple[str, str]]:
    rows = await store.read("SELECT bay, body FROM billing_open_sessions ORDER BY bay")
    return [(str(bay), str(body)) for bay, body in rows]
