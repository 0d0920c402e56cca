"""Operator limits on limit nodes (`edge limit set NODE --kw X --until TIME --reason TEXT`,
`edge limit clear NODE`, the cloud's `site-limit`): the allocator's override input, their
local API methods and the cloud command's handler.

An operator limit can only lower a node's limit (the budget takes the smaller of the two),
holds until its `until` (site time unless the time has an offset; required: a lowered
limit is never forgotten in force), and records who set it from the socket's peer
credentials (`SO_PEERCRED`), never from what the client says. Each set and clear is kept in
the site's local store before it is answered (table `operator_limits`, so a restart keeps
what is in force and drops what lapsed meanwhile) and appended to the hash-chained audit log
(`limit-set`, `limit-clear`, also sent as `events/audit`). Every set, clear and lapse is
logged (`limit_set`, `limit_cleared`, `limit_lapsed`). A store that fails does not stop a
limit: a set is obeyed anyway (it only lowers), and `edge status` warns that it is not kept.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.availability import check_reason, check_until
from edge.availability_api import iso, parse_time
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer
from edge.power.budget import LimitOverride
from edge.siteconf.model import SiteConfig
from edge.store import LocalStore, StoreUnavailable, limit_rows

log = logging.getLogger(__name__)

Recorder = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]  # kind, subject, by, detail


@dataclass(frozen=True, slots=True)
class OperatorLimit:
    node: str
    limit_w: float
    until: float  # UTC epoch seconds
    reason: str
    by: str
    at: float


class OperatorLimits:
    def __init__(
        self,
        config: SiteConfig,
        store: LocalStore | None = None,
        audit: Recorder | None = None,
    ) -> None:
        """`store`: the site's local store, opened by its owner before `load`; None keeps
        limits in memory only. `audit`: appends one entry to the site's audit log."""
        self.config = config
        self.store = store
        self._audit = audit
        self._nodes = {n.id: n for n in config.limits}
        self._limits: dict[str, OperatorLimit] = {}
        self.warnings: list[str] = []  # for `edge status`: limits not persisted
        self.loaded = asyncio.Event()  # what the store held is in (or there is no store)
        if store is None:
            self.loaded.set()

    async def load(self, now: float) -> None:
        """Take the limits still in force from the store; never raises (the daemon must run)."""
        rows: list[limit_rows.Row] = []
        if self.store is not None:
            try:
                rows = await limit_rows.load(self.store, now)
            except StoreUnavailable as exc:
                self._not_persisted(str(exc))
        for row in rows:
            if row[0] not in self._nodes:  # the site file no longer has the node
                log.warning("limit_not_restored node=%s why=not a limit node of this site", row[0])
                continue
            self._limits[row[0]] = OperatorLimit(*row)
        self.loaded.set()
        log.info(
            "limits_loaded in_force=%s",
            ",".join(f"{n}:{x.limit_w / 1000:g}kW" for n, x in self._limits.items()) or "-",
        )

    def _not_persisted(self, why: str) -> None:
        message = f"operator limits not persisted: {why}"
        if message not in self.warnings:
            self.warnings.append(message)
            log.error("limits_store_failed why=%s", why)

    def _check_node(self, node: str) -> None:
        if node not in self._nodes:
            raise ValueError(f"node: {node!r} is not a limit node ({', '.join(self._nodes)})")

    async def set(
        self, node: str, kw: float, until: float, reason: str, by: str, now: float
    ) -> OperatorLimit:
        """Raises ValueError naming what is wrong (unknown node, bad power, time, reason).
        Stored and audited before it returns; obeyed even if the store fails."""
        self._check_node(node)
        if not math.isfinite(kw) or kw < 0:
            raise ValueError(f"kw: {kw!r} is not a power >= 0")
        check_until(until, now)
        check_reason(reason, required=True)
        await self.loaded.wait()  # a cloud command may come in while the store opens
        limit = OperatorLimit(node, kw * 1000.0, until, reason, by, now)
        self._limits[node] = limit
        if self.store is not None:
            try:
                await limit_rows.save(self.store, limit)
            except StoreUnavailable as exc:
                self._not_persisted(str(exc))
        log.info(
            "limit_set node=%s kw=%g until=%s reason=%s by=%s", node, kw, iso(until), reason, by
        )
        await self._record("limit-set", node, by, {"kw": kw, "until": iso(until), "reason": reason})
        return limit

    async def clear(self, node: str, by: str) -> bool:
        self._check_node(node)
        await self.loaded.wait()
        gone = self._limits.pop(node, None)
        if self.store is not None:
            try:  # if this fails the limit comes back at the next start: the safe side
                await limit_rows.delete(self.store, node)
            except StoreUnavailable as exc:
                self._not_persisted(str(exc))
        log.info("limit_cleared node=%s was_set=%s by=%s", node, gone is not None, by)
        was = None if gone is None else {"kw": gone.limit_w / 1000, "until": iso(gone.until)}
        await self._record("limit-clear", node, by, {"was": was})
        return gone is not None

    async def _record(self, kind: str, node: str, by: str, detail: dict[str, Any]) -> None:
        if self._audit is None:
            return
        try:
            await self._audit(kind, node, by, detail)
        except Exception:  # the audit path must never undo or stall an operator's limit
            log.exception("limit_audit_failed kind=%s node=%s", kind, node)

    def in_force(self, now: float) -> tuple[OperatorLimit, ...]:
        for node, lim in list(self._limits.items()):
            if lim.until <= now:
                del self._limits[node]
                log.info("limit_lapsed node=%s kw=%g by=%s", node, lim.limit_w / 1000, lim.by)
        return tuple(self._limits.values())

    def overrides(self, now: float) -> tuple[LimitOverride, ...]:
        """The allocator's `BudgetInputs.overrides`."""
        return tuple(LimitOverride(lim.node, lim.limit_w) for lim in self.in_force(now))

    def rows(self, now: float) -> list[dict[str, Any]]:
        return [
            {
                "node": lim.node,
                "limit_w": lim.limit_w,
                "until": iso(lim.until),
                "reason": lim.reason,
                "by": lim.by,
                "since": iso(lim.at),
            }
            for lim in self.in_force(now)
        ]


async def command(limits: OperatorLimits, wall: Any, args: dict[str, Any]) -> dict[str, Any]:
    """The cloud's `site-limit` handler (args validated by cmd-site-limit.json): set when
    `kw` is a number, lift when it is null; recorded as set `by=cloud`."""
    node, kw = str(args["node"]), args["kw"]
    if kw is None:
        return {"cleared": await limits.clear(node, "cloud"), "limits": limits.rows(wall())}
    until = datetime.fromisoformat(str(args["until"])).timestamp()
    await limits.set(node, float(kw), until, str(args["reason"]), "cloud", wall())
    return {"limits": limits.rows(wall())}


def register(api: LocalApiServer, limits: OperatorLimits, wall: Any) -> None:
    """`limit-set` (node, kw, until, reason) and `limit-clear` (node); `wall()` is now."""

    def by() -> str:
        peer = current_peer()
        return peer.user if peer is not None else "unknown"

    async def set_(params: dict[str, Any]) -> dict[str, Any]:
        node, kw = params.get("node"), params.get("kw")
        until, reason = params.get("until"), params.get("reason")
        if not isinstance(node, str) or isinstance(kw, bool) or not isinstance(kw, int | float):
            raise ProtocolError("bad_params", "limit-set: needs 'node' (text) and 'kw' (number)")
        if not isinstance(until, str) or not isinstance(reason, str):
            raise ProtocolError("bad_params", "limit-set: needs 'until' and 'reason' (text)")
        try:
            at = parse_time(until, limits.config.timezone)
            await limits.set(node, float(kw), at, reason, by(), wall())
        except ValueError as exc:
            raise ProtocolError("bad_params", f"limit-set: {exc}") from exc
        return {"limits": limits.rows(wall())}

    async def clear(params: dict[str, Any]) -> dict[str, Any]:
        node = params.get("node")
        if not isinstance(node, str):
            raise ProtocolError("bad_params", "limit-clear: needs 'node' (text)")
        try:
            cleared = await limits.clear(node, by())
        except ValueError as exc:
            raise ProtocolError("bad_params", f"limit-clear: {exc}") from exc
        return {"cleared": cleared, "limits": limits.rows(wall())}

    api.register("limit-set", set_)
    api.register("limit-clear", clear)
