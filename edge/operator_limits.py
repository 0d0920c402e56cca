"""Operator limits on limit nodes (`edge limit set NODE --kw X --until TIME --reason TEXT`,
`edge limit clear NODE`, the cloud's `site-limit`): the allocator's override input, their
local API methods and the cloud command's handler.

An operator limit can only lower a node's limit (the budget takes the smaller of the two),
holds until its `until` (site time unless the time has an offset; required: a lowered
limit is never forgotten in force), and records who set it from the socket's peer
credentials (`SO_PEERCRED`), never from what the client says. Every set, clear and lapse is
logged (`limit_set`, `limit_cleared`, `limit_lapsed`) with the node, the value, the reason
and the user. Kept in memory: a restart drops them, which only raises a node back to its
configured limit (still the grid contract).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.availability import check_reason, check_until
from edge.availability_api import iso, parse_time
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer
from edge.power.budget import LimitOverride
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OperatorLimit:
    node: str
    limit_w: float
    until: float  # UTC epoch seconds
    reason: str
    by: str
    at: float


class OperatorLimits:
    def __init__(self, config: SiteConfig) -> None:
        self.config = config
        self._nodes = {n.id: n for n in config.limits}
        self._limits: dict[str, OperatorLimit] = {}

    def set(
        self, node: str, kw: float, until: float, reason: str, by: str, now: float
    ) -> OperatorLimit:
        """Raises ValueError naming what is wrong (unknown node, bad power, time, reason)."""
        if node not in self._nodes:
            raise ValueError(f"node: {node!r} is not a limit node ({', '.join(self._nodes)})")
        if not math.isfinite(kw) or kw < 0:
            raise ValueError(f"kw: {kw!r} is not a power >= 0")
        check_until(until, now)
        check_reason(reason, required=True)
        limit = OperatorLimit(node, kw * 1000.0, until, reason, by, now)
        self._limits[node] = limit
        log.info(
            "limit_set node=%s kw=%g until=%s reason=%s by=%s", node, kw, iso(until), reason, by
        )
        return limit

    def clear(self, node: str, by: str) -> bool:
        if node not in self._nodes:
            raise ValueError(f"node: {node!r} is not a limit node ({', '.join(self._nodes)})")
        gone = self._limits.pop(node, None)
        log.info("limit_cleared node=%s was_set=%s by=%s", node, gone is not None, by)
        return gone is not None

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
        return {"cleared": limits.clear(node, "cloud"), "limits": limits.rows(wall())}
    until = datetime.fromisoformat(str(args["until"])).timestamp()
    limits.set(node, float(kw), until, str(args["reason"]), "cloud", wall())
    return {"limits": limits.rows(wall())}


def register(api: LocalApiServer, limits: OperatorLimits, wall: Any) -> None:
    """`limit-set` (node, kw, until, reason) and `limit-clear` (node); `wall()` is now."""

    def by() -> str:
        peer = current_peer()
        return peer.user if peer is not None else "unknown"

    def set_(params: dict[str, Any]) -> dict[str, Any]:
        node, kw = params.get("node"), params.get("kw")
        until, reason = params.get("until"), params.get("reason")
        if not isinstance(node, str) or isinstance(kw, bool) or not isinstance(kw, int | float):
            raise ProtocolError("bad_params", "limit-set: needs 'node' (text) and 'kw' (number)")
        if not isinstance(until, str) or not isinstance(reason, str):
            raise ProtocolError("bad_params", "limit-set: needs 'until' and 'reason' (text)")
        try:
            at = parse_time(until, limits.config.timezone)
            limits.set(node, float(kw), at, reason, by(), wall())
        except ValueError as exc:
            raise ProtocolError("bad_params", f"limit-set: {exc}") from exc
        return {"limits": limits.rows(wall())}

    def clear(params: dict[str, Any]) -> dict[str, Any]:
        node = params.get("node")
        if not isinstance(node, str):
            raise ProtocolError("bad_params", "limit-clear: needs 'node' (text)")
        try:
            cleared = limits.clear(node, by())
        except ValueError as exc:
            raise ProtocolError("bad_params", f"limit-clear: {exc}") from exc
        return {"cleared": cleared, "limits": limits.rows(wall())}

    api.register("limit-set", set_)
    api.register("limit-clear", clear)
