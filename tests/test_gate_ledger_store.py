"""The gates' ledger survives a restart: a QR token used once stays refused after the
daemon's objects are rebuilt over the same store (replay), and the rows stay bounded."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from edge.access.credentials import Inside
from edge.access.entry import CredentialRead, EntryRules, ReadKind
from edge.access.gate_types import EventKind
from edge.gates.decide import EntryDecider, MemoryBookings
from edge.gates.ledger_store import LedgerStore
from edge.qr_signature import SiteKeys, TokenIssuer
from edge.sessions import BayState
from edge.store.local_store import LocalStore
from tests.test_access_entry import BAY, T0, booking
from tests.test_gate_lane import gate

ISSUER = TokenIssuer(key_id=1)


async def _started(path: Path, now: float) -> tuple[LocalStore, EntryDecider, LedgerStore]:
    store = LocalStore(path)
    await store.open()
    rules = EntryRules(SiteKeys({1: ISSUER.public_bytes()}))
    decider = EntryDecider(
        MemoryBookings([booking()]), [BAY], lambda: {"b1": BayState.AVAILABLE}, rules
    )
    ledger = LedgerStore(store)
    await ledger.load(now, rules.max_stay_s)
    ledger.attach(decider)
    return store, decider, ledger


def _qr(token: str, at: float) -> CredentialRead:
    return CredentialRead(ReadKind.QR, token, "qr-1", at)


async def test_a_used_qr_token_is_refused_after_a_restart(tmp_path: Path) -> None:
    token = ISSUER.issue("bk1", int(T0) - 60, int(T0) + 600)
    store, decider, ledger = await _started(tmp_path / "site.db", T0)
    granted = decider.entry(gate(), _qr(token, T0), T0)
    assert granted is not None
    assert granted.kind is EventKind.GRANT
    # the truck leaves: what keeps the token out afterwards is its spent nonce, not passback
    decider.exit(gate("exit"), CredentialRead(ReadKind.PLATE, "AB123CD", "cam-x", T0 + 20), T0 + 20)
    await ledger.drain()
    await store.close()

    later = T0 + 60
    store, decider, ledger = await _started(tmp_path / "site.db", later)
    assert "plate:AB123CD" not in decider.ledger.inside.since  # the exit was kept too
    assert len(decider.ledger.spent.until) == 1
    # what refuses the replay is the spent nonce alone, not anti-passback
    decider.ledger = replace(decider.ledger, inside=Inside())
    replayed = decider.entry(gate(), _qr(token, later), later)
    assert replayed is None or replayed.kind is not EventKind.GRANT
    fresh = ISSUER.issue("bk1", int(T0) - 60, int(T0) + 600)  # a new token still opens
    event = decider.entry(gate(), _qr(fresh, later + 10), later + 10)
    assert event is not None
    assert event.kind is EventKind.GRANT
    await ledger.drain()
    await store.close()


async def test_expired_entries_are_pruned_at_load(tmp_path: Path) -> None:
    token = ISSUER.issue("bk1", int(T0) - 60, int(T0) + 600)
    store, decider, ledger = await _started(tmp_path / "site.db", T0)
    decider.entry(gate(), _qr(token, T0), T0)
    await ledger.drain()
    assert len(await store.read("SELECT key FROM ledger")) > 1
    await store.close()

    long_after = T0 + 4 * 86_400.0  # past the token's expiry and max_stay_s
    store, decider, ledger = await _started(tmp_path / "site.db", long_after)
    assert decider.ledger.spent.until == {}
    assert decider.ledger.inside.since == {}
    assert await store.read("SELECT key FROM ledger") == []
    await store.close()
