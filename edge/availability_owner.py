"""The daemon's owner of bay and charger availability: the shell around edge/availability.py.

It keeps the changes that can still decide something in memory, persists each one in the
local store before answering, tells its listeners (the uplink publishes the retained
`state/bay-availability`) on every change and whenever an `until` lapses, and runs with or
without the uplink. Technicians reach it through the local API (`edge bay`), the cloud
through the `bay-availability` command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from edge import availability as rules
from edge.availability import Change, Source, Topology, View
from edge.clock import Clock
from edge.siteconf.model import SiteConfig
from edge.store import LocalStore, StoreUnavailable, availability_rows

log = logging.getLogger(__name__)

Listener = Callable[[View], None]
MAX_WAIT_S = 60.0  # re-check lapses at least this often: the wall clock may be stepped


class AvailabilityOwner:
    def __init__(self, config: SiteConfig, clock: Clock, store: LocalStore) -> None:
        self.config, self.clock, self.store = config, clock, store
        self.topology = Topology.of(config)
        self.warnings: list[str] = []  # for `edge status`: a replaced or failing store
        self._changes: list[Change] = []
        self._listeners: list[Listener] = []
        self._wake = asyncio.Event()
        self._told: tuple[Any, ...] | None = None
        self.loaded = asyncio.Event()  # what the store held is in (or the store failed)

    async def load(self) -> None:
        """Open the store and take what it holds; never raises (the daemon must run)."""
        try:
            await self.store.open()
            if self.store.alarm:
                self.warnings.append(self.store.alarm)
            rows = await availability_rows.load(self.store)
            keep = rules.still_relevant([c for _, c in rows], self.clock.wall())
            kept = set(keep)
            await availability_rows.delete(self.store, [i for i, c in rows if c not in kept])
            self._changes = keep
        except StoreUnavailable as exc:
            self._not_persisted(str(exc))
        self.loaded.set()
        v = self.view()
        self._told = _signature(v)  # the uplink publishes the state at its start
        log.info(
            "availability_loaded changes=%d out_of_service=%s unavailable_bays=%s",
            len(self._changes),
            ",".join(v.out_of_service) or "-",
            ",".join(v.unavailable_bays) or "-",
        )

    def _not_persisted(self, why: str) -> None:
        message = f"bay availability not persisted: {why}"
        if message not in self.warnings:
            self.warnings.append(message)
            log.error("availability_store_failed why=%s", why)

    def view(self) -> View:
        return rules.view(self._changes, self.topology, self.clock.wall())

    def changes(self) -> list[Change]:
        """The changes still able to decide something, in the order recorded."""
        return list(self._changes)

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def change(
        self,
        target: str,
        *,
        available: bool,
        reason: str,
        until: float | None,
        source: Source,
        by: str,
    ) -> View:
        """Record one change (persisted first); ValueError names a bad target, reason or time."""
        await self.loaded.wait()  # a cloud command may come in while the store opens
        kind = self.topology.kind_of(target)
        rules.check_reason(reason, required=not available)
        now = self.clock.wall()
        rules.check_until(until, now)
        change = Change(target, kind, available, reason, now, until, source, by)
        try:
            await availability_rows.save(self.store, change)
        except StoreUnavailable as exc:  # still obeyed: a bay taken out must stay out
            self._not_persisted(str(exc))
        self._changes = rules.still_relevant([*self._changes, change], now)
        log.info(
            "availability_changed %s=%s available=%s until=%s source=%s by=%s reason=%r",
            kind.value,
            target,
            available,
            "-" if until is None else f"{until:.0f}",
            source.value,
            by,
            reason,
        )
        v = self.view()
        self._tell(v, force=True)
        self._wake.set()
        return v

    async def run(self) -> None:
        """Supervised task: when an `until` lapses, the new view goes to the listeners."""
        while True:
            now = self.clock.wall()
            nxt = rules.next_expiry(self._changes, now)
            wait = MAX_WAIT_S if nxt is None else min(max(nxt - now, 0.0), MAX_WAIT_S)
            await self._sleep_or_wake(wait)
            self._changes = rules.still_relevant(self._changes, self.clock.wall())
            self._tell(self.view(), force=False)

    async def _sleep_or_wake(self, seconds: float) -> None:
        self._wake.clear()
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waker):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _tell(self, v: View, *, force: bool) -> None:
        told = _signature(v)
        if not force and told == self._told:
            return
        if not force:
            log.info("availability_lapsed unavailable_bays=%s", ",".join(v.unavailable_bays) or "-")
        self._told = told
        for listener in self._listeners:
            try:
                listener(v)
            except Exception:  # one listener (the uplink) must not stop the others
                log.exception("availability_listener_failed")

    async def close(self) -> None:
        await self.store.close()


def _signature(v: View) -> tuple[Any, ...]:
    return (tuple(v.out_of_service.items()), v.unavailable_bays)
