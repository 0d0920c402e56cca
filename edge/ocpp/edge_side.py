"""What both versions' charge-point sessions share on our side: the identity, the call
timeout and wire log from the settings, CALLERRORs we send counted, and the clock's time."""

from __future__ import annotations

from typing import Any

from edge.ocpp.calls import count_errors
from edge.ocpp.context import Context, iso
from edge.ocpp.wire_logger import WireLogger


class EdgeSide:
    """Mixed in before the package's versioned `ChargePoint` (v16 or v201)."""

    def __init__(self, ctx: Context, connection: Any) -> None:
        super().__init__(  # type: ignore[call-arg]  # the package's ChargePoint, untyped
            ctx.station.identity, connection, ctx.settings.call_timeout_s, WireLogger()
        )
        self.ctx = ctx

    async def _send(self, message: str) -> None:
        count_errors(self.ctx.station, message)
        await super()._send(message)  # type: ignore[misc]

    def _now(self) -> str:
        return iso(self.ctx.clock.wall())
