"""Keeps the gates' `Ledger` in the local store, so that a restart forgets neither who is
inside (anti-passback) nor which QR nonces are spent (a replayed token stays refused).

`EntryDecider.ledger_changed` is synchronous (a lane must not wait on a disk); each change
is written by a task of its own, in order (one lock), as the difference from the last one
written: a few rows per read.
"""

from __future__ import annotations

import asyncio
import logging

from edge.access.entry import Ledger
from edge.gates.decide import EntryDecider
from edge.store import ledger_rows
from edge.store.local_store import LocalStore

log = logging.getLogger(__name__)


class LedgerStore:
    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._written = Ledger()
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()

    async def attach(self, decider: EntryDecider, now: float) -> None:
        """Load the stored ledger into `decider` and write its changes from now on. An
        unreadable store starts empty (logged): the gates must run, and spent tokens still
        expire."""
        try:
            ledger = await ledger_rows.load(self.store, now, decider.rules.max_stay_s)
        except Exception:
            log.exception("gate_ledger_not_loaded")
            ledger = Ledger()
        self._written = ledger
        decider.ledger = ledger
        decider.ledger_changed = self.changed
        log.info("gate_ledger_loaded inside=%d spent=%d", len(ledger.inside.since),
                 len(ledger.spent.until))  # fmt: skip

    def changed(self, ledger: Ledger) -> None:
        task = asyncio.get_running_loop().create_task(self._write(ledger))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, ledger: Ledger) -> None:
        async with self._lock:
            try:
                await ledger_rows.save(self.store, self._written, ledger)
                self._written = ledger
            except Exception:  # a full disk must not take a lane down; the next change retries
                log.exception("gate_ledger_not_saved")

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
