"""What both versions' charge-point sessions share on our side: the identity, the call
timeout and wire log from the settings, CALLERRORs we send counted, the clock's time, and
what a message does to the station, the process image and the session log once its wire
fields are read. `v16.py` and `v201.py` only map their wire fields onto these."""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

from edge.ocpp.calls import after, count_errors, on
from edge.ocpp.context import Context, iso
from edge.ocpp.profiles import ProfileOrder
from edge.ocpp.rate_unit import schedule_limit
from edge.ocpp.station import Transaction
from edge.ocpp.wire_logger import WireLogger

log = logging.getLogger(__name__)


class EdgeSide:
    """Mixed in before the package's versioned `ChargePoint` (v16 or v201)."""

    results: ModuleType  # the version's `call_result` module

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

    # --- what both versions answer alike --------------------------------------------------
    @on("Heartbeat")
    def on_heartbeat(self, **kw: Any) -> Any:
        return self.results.Heartbeat(self._now())

    @after("BootNotification")
    def after_boot(self, **kw: Any) -> None:
        self.ctx.spawn(self.ctx.on_boot())

    def _booted(self, vendor: str, model: str, firmware: str, version: str, why: str) -> Any:
        st = self.ctx.station
        st.vendor, st.model, st.firmware = vendor, model, firmware
        log.info("ocpp_boot charger=%s version=%s vendor=%s model=%s firmware=%s reason=%s",
                 st.identity, version, vendor, model, firmware, why)  # fmt: skip
        return self.results.BootNotification(self._now(), self.ctx.settings.heartbeat_s, "Accepted")

    async def _authorized(self, token: str, connector: int | None) -> str:
        """The token's wire status; a connector's bay scopes a booking credential."""
        bay = self.ctx.bay(connector) if connector is not None else None
        return (await self.ctx.auth.authorize(token, bay)).status

    # --- transactions and meter values ----------------------------------------------------
    def _connector_of(self, tx: str) -> int | None:
        return next((c for c, t in self.ctx.station.transactions.items() if t.id == tx), None)

    def _opened(
        self, connector: int, tx: str, token: str, start_wh: float | None, at: float
    ) -> None:
        bay = self.ctx.bay(connector)
        self.ctx.station.transactions[connector] = Transaction(tx, token, start_wh, at)
        log.info("ocpp_transaction_started charger=%s connector=%d bay=%s tx=%s",
                 self.ctx.station.identity, connector, bay, tx)  # fmt: skip
        if bay is not None:
            self.ctx.sessions.started(bay, tx, token, start_wh, at)

    def _ended(
        self, connector: int, tx: str, reason: str, stop_wh: float | None, at: float
    ) -> None:
        st = self.ctx.station
        st.transactions.pop(connector, None)
        st.charging.pop(connector, None)
        st.needs.pop(connector, None)  # the truck's needs were this session's
        log.info("ocpp_transaction_stopped charger=%s connector=%d tx=%s reason=%s",
                 st.identity, connector, tx, reason)  # fmt: skip
        bay = self.ctx.bay(connector)
        if bay is not None:
            self.ctx.sessions.ended(bay, tx, stop_wh, reason, at)

    def _metered(
        self, connector: int, tx: str | None, values: list[dict[str, Any]], at: float
    ) -> None:
        """Into the process image, and into the bay's session log as the charger sent them."""
        self.ctx.image.meter(self.ctx.station, connector, values)
        bay = self.ctx.bay(connector)
        if bay is not None:
            self.ctx.sessions.meter_values(bay, tx, values, at)

    # --- our calls ------------------------------------------------------------------------
    def _limit(self, order: ProfileOrder) -> tuple[str, float]:
        """The schedule's unit ("W" or "A") and limit for this charge point."""
        return schedule_limit(order.limit_w, self.ctx.station.rate)

    def _valid_to(self, order: ProfileOrder) -> str | None:
        return iso(order.valid_to) if order.valid_to is not None else None
