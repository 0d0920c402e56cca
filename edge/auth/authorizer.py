"""The authorizer: the pure decision (edge/auth/decide.py) with its I/O around it: the list
in the local store, the bookings owner, and the cloud asked through the uplink.

`authorize(id_token, bay)` is what a charger backend calls (OCPP Authorize, or the token of
a StartTransaction / TransactionEvent). `update(...)` applies one `auth-list-update`
command. A store that cannot be written refuses the update (an error reply: the cloud sends
it again), never leaves the list half changed in memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.access.bookings import Booking
from edge.auth import decide
from edge.auth.local_list import Assembly, add_part, apply_differential, assemble
from edge.auth.model import (
    AuthDecision,
    CloudAnswer,
    ListUpdate,
    LocalList,
    UpdateType,
    normal_token,
)
from edge.siteconf.model import Authorization
from edge.store import auth_list_rows
from edge.store.local_store import LocalStore, StoreUnavailable

log = logging.getLogger(__name__)


class AsksCloud(Protocol):
    async def ask(self, id_token: str, bay: str | None, timeout_s: float) -> CloudAnswer | None:
        """The cloud's answer, or None: not connected, or no answer within `timeout_s`."""
        ...


class Bookings(Protocol):
    def bookings(self) -> list[Booking]: ...

    def bay_of(self, booking_id: str) -> str | None: ...


class _NoBookings:
    def bookings(self) -> list[Booking]:
        return []

    def bay_of(self, booking_id: str) -> str | None:
        return None


@dataclass(frozen=True, slots=True)
class UpdateResult:
    outcome: str  # "applied" (the list changed) or "part-stored" (waiting for more parts)
    version: int  # the list's version now
    parts_received: int = 0
    parts: int = 0


class Authorizer:
    def __init__(
        self,
        policy: Authorization,
        wall: Callable[[], float],
        *,
        store: LocalStore | None = None,
        bookings: Bookings | None = None,
        cloud: AsksCloud | None = None,
    ) -> None:
        self.policy, self._wall, self._store = policy, wall, store
        self._bookings = bookings or _NoBookings()
        self.cloud = cloud  # set later by the uplink, when there is one
        self.local = LocalList()
        self.assembly = Assembly()
        self._lock = asyncio.Lock()  # one update at a time: version checks see the last one
        self.loaded = asyncio.Event()  # the stored list is in (or could not be read)

    async def load(self) -> None:
        """The stored list and any parts in assembly (after the store is open); never raises."""
        try:
            if self._store is not None:
                self.local, self.assembly = await auth_list_rows.load(self._store)
        except (StoreUnavailable, ValueError, KeyError) as exc:
            log.error("auth_list_not_loaded why=%s", exc)
        finally:
            self.loaded.set()
        log.info(
            "auth_list_loaded version=%d tokens=%d parts_waiting=%d",
            self.local.version,
            len(self.local.entries),
            len(self.assembly.received),
        )

    async def authorize(self, id_token: str, bay: str | None = None) -> AuthDecision:
        await self.loaded.wait()
        token = normal_token(id_token)  # as the list and the cloud know it
        now = self._wall()
        b = self._bookings
        decided, listed = decide.before_cloud(
            token, bay, now, self.local, b.bookings(), b.bay_of, self.policy
        )
        if decided is None:
            answer, why = await self._ask(token, bay)
            decided = decide.after_cloud(token, bay, listed, answer, self.policy, why)
        log.info(
            "authorize bay=%s token=%s status=%s source=%s booking=%s",
            bay,
            decided.id_token,
            decided.status.value,
            decided.source.value,
            decided.booking,
        )
        return decided

    async def _ask(self, id_token: str, bay: str | None) -> tuple[CloudAnswer | None, str]:
        if self.cloud is None:
            return None, "no cloud link configured"
        answer = await self.cloud.ask(id_token, bay, self.policy.request_timeout_s)
        if answer is None:
            return None, f"no answer from the cloud within {self.policy.request_timeout_s:g} s"
        return answer, ""

    async def update(self, update: ListUpdate) -> UpdateResult:
        """Apply one update (VersionMismatch, PartInvalid: ValueErrors, nothing changed)."""
        await self.loaded.wait()  # a command may come in while the store opens
        async with self._lock:
            if update.kind is UpdateType.DIFFERENTIAL:
                return await self._replace(apply_differential(self.local, update))
            assembly = add_part(self.local, self.assembly, update)
            if assembly.complete():
                result = await self._replace(assemble(assembly))
                self.assembly = Assembly()
                return result
            if self._store is not None:
                fresh = assembly.version != self.assembly.version
                await auth_list_rows.save_part(self._store, update, new_version=fresh)
            self.assembly = assembly
            log.info(
                "auth_list_part version=%d part=%d parts=%d",
                update.version,
                update.part,
                update.parts,
            )
            return UpdateResult(
                "part-stored", self.local.version, len(assembly.received), assembly.parts
            )

    async def _replace(self, new: LocalList) -> UpdateResult:
        if self._store is not None:
            await auth_list_rows.save_list(self._store, new)
        self.local = new
        log.info("auth_list_applied version=%d tokens=%d", new.version, len(new.entries))
        return UpdateResult("applied", new.version)
