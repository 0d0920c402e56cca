"""The OCPP charge points on the local API: `chargers` (`edge chargers`) and the audited
`charger-reset` / `charger-unlock` (`edge charger reset|unlock ID CONNECTOR --reason`).

Who asked comes from the socket's peer credentials; the reason is required. Each command is
appended to the hash-chained audit log (kind `charger-reset` / `charger-unlock`, subject the
charger) with its outcome, as the gate commands are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from edge.clock import Clock
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer
from edge.ocpp.report import charger_rows
from edge.ocpp.site import OcppSite

Record = Callable[[str, str, str, dict[str, Any]], Awaitable[None]]
MAX_REASON = 200  # as the gate commands


def _who() -> str:
    peer = current_peer()
    return f"{peer.user}(uid={peer.uid})" if peer else "unknown"


def _reason(params: dict[str, Any], method: str) -> str:
    reason = params.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise ProtocolError("bad_params", f"{method}: a reason of 1-{MAX_REASON} characters")
    if not reason.isprintable():
        raise ProtocolError("bad_params", f"{method}: the reason must be printable text")
    return reason.strip()


def register(api: LocalApiServer, site: OcppSite, record: Record, clock: Clock) -> None:
    by_charger = {st.charger: st for st in site.stations.values()}

    def station(params: dict[str, Any], method: str) -> Any:
        name = params.get("charger")
        if not isinstance(name, str) or name not in by_charger:
            known = ", ".join(sorted(by_charger)) or "none"
            raise ProtocolError("bad_params", f"{method}: unknown OCPP charger {name!r} ({known})")
        return by_charger[name]

    async def act(params: dict[str, Any], method: str) -> dict[str, Any]:
        st = station(params, method)
        reason = _reason(params, method)
        connector = params.get("connector", 0)
        if not isinstance(connector, int) or isinstance(connector, bool) or connector < 0:
            raise ProtocolError("bad_params", f"{method}: connector must be an integer >= 0")
        action = method.removeprefix("charger-")
        if action == "reset" and params.get("hard"):
            action = "hard-reset"
        problem = await site.command(st.identity, action, connector)
        outcome = "accepted" if problem is None else f"refused: {problem}"
        detail = {"connector": connector, "reason": reason, "action": action, "outcome": outcome}
        await record(method, st.charger, _who(), detail)
        return {"charger": st.charger, "action": action, "outcome": outcome}

    async def reset(params: dict[str, Any]) -> dict[str, Any]:
        return await act(params, "charger-reset")

    async def unlock(params: dict[str, Any]) -> dict[str, Any]:
        return await act(params, "charger-unlock")

    api.register("chargers", lambda params: {"chargers": charger_rows(site, clock.monotonic())})
    api.register("charger-reset", reset)
    api.register("charger-unlock", unlock)
