"""OCPP 1.6J: the messages a charge point sends us, and the calls we make (profiles, reset,
unlock). Handlers take the `ocpp` package's snake_case keyword arguments."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v16 import ChargePoint, call, call_result, datatypes, enums
from ocpp.v16.enums import Action

from edge.ocpp.calls import after, checked, on
from edge.ocpp.context import Context, iso, parse_iso
from edge.ocpp.edge_side import EdgeSide
from edge.ocpp.profiles import ProfileOrder, Purpose
from edge.ocpp.station import Transaction

log = logging.getLogger(__name__)

_PURPOSE = {
    Purpose.CABINET_MAX: enums.ChargingProfilePurposeType.charge_point_max_profile,
    Purpose.TX_DEFAULT: enums.ChargingProfilePurposeType.tx_default_profile,
    Purpose.TX: enums.ChargingProfilePurposeType.tx_profile,
}


class V16ChargePoint(EdgeSide, ChargePoint):  # type: ignore[misc]  # the package is untyped
    ctx: Context

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
        st = self.ctx.station
        st.vendor, st.model = charge_point_vendor, charge_point_model
        st.firmware = str(kw.get("firmware_version") or "")
        log.info("ocpp_boot charger=%s version=1.6 vendor=%s model=%s firmware=%s",
                 st.identity, st.vendor, st.model, st.firmware)  # fmt: skip
        return call_result.BootNotification(
            self._now(), self.ctx.settings.heartbeat_s, enums.RegistrationStatus.accepted
        )

    @after(Action.boot_notification)
    def after_boot(self, **kw: Any) -> None:
        self.ctx.spawn(self.ctx.on_boot())

    @on(Action.heartbeat)
    def on_heartbeat(self, **kw: Any) -> Any:
        return call_result.Heartbeat(self._now())

    @on(Action.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **kw: Any) -> Any:
        self.ctx.image.status(self.ctx.station, connector_id, status)
        if error_code != "NoError":
            log.info("ocpp_connector_error charger=%s connector=%d status=%s error=%s info=%s",
                     self.id, connector_id, status, error_code, kw.get("info", ""))  # fmt: skip
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kw: Any) -> Any:
        decision = await self.ctx.auth.authorize(id_tag, None)
        return call_result.Authorize(datatypes.IdTagInfo(decision.status))

    @on(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kw: Any
    ) -> Any:
        ctx, st = self.ctx, self.ctx.station
        decision = await ctx.auth.authorize(id_tag, ctx.bay(connector_id))
        tx = str(ctx.next_tx())
        at = parse_iso(timestamp, ctx.clock.wall())
        st.transactions[connector_id] = Transaction(tx, id_tag, float(meter_start), at)
        bay = ctx.bay(connector_id)
        log.info("ocpp_transaction_started charger=%s connector=%d bay=%s tx=%s status=%s",
                 self.id, connector_id, bay, tx, decision.status)  # fmt: skip
        if bay is not None:
            ctx.sessions.started(bay, tx, id_tag, float(meter_start), at)
        return call_result.StartTransaction(int(tx), datatypes.IdTagInfo(decision.status))

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        ctx, st = self.ctx, self.ctx.station
        tx = str(transaction_id)
        connector = next((c for c, t in st.transactions.items() if t.id == tx), None)
        if connector is not None:
            del st.transactions[connector]
            bay = ctx.bay(connector)
            if bay is not None:
                at = parse_iso(timestamp, ctx.clock.wall())
                ctx.sessions.ended(bay, tx, float(meter_stop), str(kw.get("reason") or "Local"), at)
        log.info("ocpp_transaction_stopped charger=%s connector=%s tx=%s reason=%s",
                 self.id, connector, tx, kw.get("reason") or "Local")  # fmt: skip
        if kw.get("id_tag"):
            return call_result.StopTransaction(
                datatypes.IdTagInfo(enums.AuthorizationStatus.accepted)
            )
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any
    ) -> Any:
        ctx = self.ctx
        ctx.image.meter(ctx.station, connector_id, meter_value)
        bay = ctx.bay(connector_id)
        if bay is not None:
            tx = kw.get("transaction_id")
            ctx.sessions.meter_values(
                bay, None if tx is None else str(tx), meter_value, ctx.clock.wall()
            )
        return call_result.MeterValues()

    # --- our calls ------------------------------------------------------------------------
    async def set_profile(self, order: ProfileOrder) -> str | None:
        """None when accepted, else why not."""
        schedule = datatypes.ChargingSchedule(
            enums.ChargingRateUnitType.watts,
            [datatypes.ChargingSchedulePeriod(0, order.limit_w)],
            start_schedule=iso(self.ctx.clock.wall()),
        )
        profile = datatypes.ChargingProfile(
            order.profile_id, order.stack_level, _PURPOSE[order.purpose],
            enums.ChargingProfileKindType.absolute, schedule,
            transaction_id=int(order.transaction_id) if order.transaction_id else None,
            valid_to=iso(order.valid_to) if order.valid_to is not None else None,
        )  # fmt: skip
        return await checked(self, call.SetChargingProfile(order.connector, profile))

    async def sample_every(self, seconds: int) -> str | None:
        """MeterValues every `seconds` during a transaction (1.6 MeterValueSampleInterval)."""
        return await checked(
            self, call.ChangeConfiguration("MeterValueSampleInterval", str(seconds))
        )

    async def reset(self, hard: bool) -> str | None:
        kind = enums.ResetType.hard if hard else enums.ResetType.soft
        return await checked(self, call.Reset(kind))

    async def unlock(self, connector: int) -> str | None:
        return await checked(self, call.UnlockConnector(connector), ok=("Unlocked",))
