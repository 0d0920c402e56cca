"""One charge point's websocket: frames in, bounded, answered per OCPP-J.

Why not the package's `ChargePoint.start()`: it drops a frame it cannot parse without an
answer, and handles every CALL before reading the next frame, so a flood from one charger
would hold up the answers to our own calls. Here:

* a frame that is not an OCPP-J message is answered with a CALLERROR (1.6 FormationViolation
  / ProtocolError, 2.0.1 FormatViolation / RpcFrameworkError / MessageTypeNotSupported), with
  its message id when one can be read, else "-1" (2.0.1 Part 4 §4.2.3);
* a CALL of an action we serve no handler for is answered here, per OCPP-J (1.6 §4.2.3
  Table 7, 2.0.1 Part 4 §4.3): NotImplemented "Requested Action is not known by receiver"
  (not an action of the version), NotSupported "recognized but not supported" (an action of
  the version we do not serve). The package's router swaps the two (mobilityhouse/ocpp
  issue #493), so such a CALL never reaches it; schema violations are answered by the
  router (FormationViolation, TypeConstraintViolation, ProtocolError, ...);
* answers to our calls (CALLRESULT, CALLERROR) are routed at once;
* CALLs wait in a small queue and are handled at most `max_calls_per_s` a second (a burst
  of twice that); a CALL that finds the queue full is answered at once with a CALLERROR
  GenericError ("busy ... retry later"): nothing is dropped unanswered (a charge point keeps
  and retries its transaction messages after a CALLERROR, 1.6 TransactionMessageAttempts),
  and the reader never stops, so the answers to our own calls are not held behind a flood;
* a frame larger than `max_message_bytes` closes the connection with 1009 (RFC 6455
  §7.4.1, done by websockets' `max_size`): there is no OCPP answer to a frame never read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from ocpp.exceptions import OCPPError
from ocpp.messages import MessageType, unpack
from ocpp.v16.enums import Action as Action16
from ocpp.v201.enums import Action as Action201

from edge.clock import Clock

log = logging.getLogger(__name__)

QUEUE = 8  # CALLs read ahead of the handler; OCPP allows one in flight, so this is plenty
ACTIONS = {"1.6": {a.value for a in Action16}, "2.0.1": {a.value for a in Action201}}


class TokenBucket:
    def __init__(self, rate: float, clock: Clock) -> None:
        self.rate, self.burst, self.clock = rate, 2.0 * rate, clock
        self.tokens, self.at = self.burst, clock.monotonic()

    def wait_s(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one was there)."""
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


def _rpc_error(version: str, raw: Any, exc: OCPPError) -> str:
    """The CALLERROR for a frame that is no OCPP-J message."""
    unique_id = "-1"
    try:
        msg = json.loads(raw)
        if isinstance(msg, list) and len(msg) > 1 and isinstance(msg[1], str):
            unique_id = msg[1]
    except (TypeError, ValueError):
        pass
    code = exc.code
    if version == "1.6":
        code = {
            "FormatViolation": "FormationViolation",
            "PropertyConstraintViolation": "ProtocolError",
        }.get(code, code)
    elif unique_id == "-1":
        code = "RpcFrameworkError"
    elif code == "PropertyConstraintViolation":  # an unknown MessageTypeId
        code = "MessageTypeNotSupported"
    cause = str((exc.details or {}).get("cause", exc.description))[:200]
    return json.dumps([4, unique_id, code, cause, {}], separators=(",", ":"))


def _unrouted_error(version: str, unique_id: str, action: str) -> str:
    """The CALLERROR for a CALL of an action we have no handler for."""
    if action in ACTIONS.get(version, set()):
        code, why = "NotSupported", f"{action} is an OCPP {version} action this CSMS does not serve"
    else:
        code, why = "NotImplemented", f"{action[:60]} is not an OCPP {version} action"
    return json.dumps([4, unique_id, code, why, {}], separators=(",", ":"))


def _busy_error(unique_id: str, waiting: int) -> str:
    why = f"busy: {waiting} calls of this charge point are waiting; retry later"
    return json.dumps([4, unique_id, "GenericError", why, {}], separators=(",", ":"))


class Pump:
    """Reads a websocket into a charge point (`cp`, an `ocpp` ChargePoint)."""

    def __init__(
        self, cp: Any, ws: Any, clock: Clock, max_calls_per_s: float, on_frame: Any
    ) -> None:
        self.cp, self.ws = cp, ws
        self.version: str = cp._ocpp_version
        self.clock = clock
        self.bucket = TokenBucket(max_calls_per_s, clock)
        self.calls: asyncio.Queue[Any] = asyncio.Queue(QUEUE)
        self.on_frame = on_frame  # called for every frame read (the station's "heard")
        self.refused = 0
        self.throttled = 0
        self.busy = 0

    async def run(self) -> None:
        """Until the websocket closes (raises websockets' ConnectionClosed)."""
        handler = asyncio.create_task(self._handle())
        try:
            while True:
                raw = await self.ws.recv()
                self.on_frame()
                await self._route(raw)
        finally:
            handler.cancel()

    async def _route(self, raw: Any) -> None:
        try:
            msg = unpack(raw)
        except OCPPError as exc:
            self._refuse("malformed", exc)
            await self.cp._send(_rpc_error(self.version, raw, exc))
            return
        if msg.message_type_id == MessageType.Call and not self._served(msg.action):
            await self.cp._send(_unrouted_error(self.version, msg.unique_id, str(msg.action)))
        elif msg.message_type_id == MessageType.Call:
            try:
                self.calls.put_nowait(raw)
            except asyncio.QueueFull:  # answered, not dropped: the charger keeps it and retries
                self._busy(msg.unique_id)
                await self.cp._send(_busy_error(msg.unique_id, QUEUE))
        else:
            await self.cp.route_message(raw)

    def _served(self, action: object) -> bool:
        routes = self.cp.route_map.get(action) if isinstance(action, str) else None
        return isinstance(routes, dict) and "_on_action" in routes

    async def _handle(self) -> None:
        while True:
            raw = await self.calls.get()
            wait = self.bucket.wait_s()
            if wait > 0:
                self.throttled += 1
                if self.throttled == 1:
                    log.warning("ocpp_flood charger=%s max_calls_per_s=%g: pushing back",
                                self.cp.id, self.bucket.rate)  # fmt: skip
                await self.clock.sleep(wait)
            await self.cp.route_message(raw)

    def _busy(self, unique_id: str) -> None:
        self.busy += 1
        if self.busy == 1 or self.busy % 100 == 0:
            log.warning("ocpp_busy charger=%s waiting=%d count=%d: CALL answered GenericError",
                        self.cp.id, QUEUE, self.busy)  # fmt: skip

    def _refuse(self, what: str, exc: OCPPError) -> None:
        self.refused += 1
        if self.refused == 1 or self.refused % 100 == 0:
            log.warning("ocpp_frame_refused charger=%s kind=%s code=%s count=%d",
                        self.cp.id, what, exc.code, self.refused)  # fmt: skip
