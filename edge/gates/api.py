"""The gate lanes on the local API (`edge gate ...`).

Who asked is taken from the socket's peer credentials, never from anything the client says,
and recorded with the reason in the audit record. An operator's open only opens: the lane
still never closes while something is present, and `release` does not close over a vehicle.
"""

from __future__ import annotations

from typing import Any

from edge.gates.site_lanes import GateLanes
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer

MAX_REASON = 200


def _who() -> str:
    peer = current_peer()
    return f"{peer.user}(uid={peer.uid})" if peer else "unknown"


def _lane(lanes: GateLanes, params: dict[str, Any], method: str) -> Any:
    name = params.get("lane")
    if not isinstance(name, str) or name not in lanes.lanes:
        known = ", ".join(sorted(lanes.lanes)) or "none"
        raise ProtocolError("bad_params", f"{method}: unknown lane {name!r} (lanes: {known})")
    return lanes.lanes[name]


def _reason(params: dict[str, Any], method: str) -> str:
    reason = params.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise ProtocolError("bad_params", f"{method}: a reason of 1-{MAX_REASON} characters")
    if not reason.isprintable():
        raise ProtocolError("bad_params", f"{method}: the reason must be printable text")
    return reason.strip()


def register(api: LocalApiServer, lanes: GateLanes) -> None:
    async def open_(params: dict[str, Any]) -> dict[str, Any]:
        lane = _lane(lanes, params, "gate-open")
        state = await lane.open(_reason(params, "gate-open"), _who())
        return {"lane": lane.gate.id, "state": state, **lanes.status()}

    async def hold(params: dict[str, Any]) -> dict[str, Any]:
        lane = _lane(lanes, params, "gate-hold-open")
        state = await lane.hold_open(_reason(params, "gate-hold-open"), _who())
        return {"lane": lane.gate.id, "state": state, **lanes.status()}

    async def release(params: dict[str, Any]) -> dict[str, Any]:
        lane = _lane(lanes, params, "gate-release")
        state = await lane.release(_who())
        return {"lane": lane.gate.id, "state": state, **lanes.status()}

    api.register("gate-status", lambda params: lanes.status())
    api.register("gate-open", open_)
    api.register("gate-hold-open", hold)
    api.register("gate-release", release)
