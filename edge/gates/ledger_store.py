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

    async def load(self, now: float, max_stay_s: float) -> None:
        """Read the stored ledger (before the lanes start). An unreadable store starts empty
        (logged): the gates must run, and spent tokens still expire."""
        try:
            self._written = await ledger_rows.load(self.store, now, max_stay_s)
        except Exception:
            log.exception("gate_ledger_not_loaded")
            self._written = Ledger()
        log.info("gate_ledger_loaded inside=%d spent=%d", len(self._written.inside.since),
                 len(self._written.spent.until))  # fmt: skip

    def attach(self, decider: EntryDecider) -> None:
        """Give `decider` the loaded ledger and write its changes from now on."""
        decider.ledger = self._written
        decider.ledger_changed = self.changed

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
