"""OCPP 2.0.1: the messages a charging station sends us, and the calls we make. A bay is an
EVSE (`connector_id` in the site file is the EVSE id); its word joins the connector status
(StatusNotification) and the transaction's charging state (TransactionEvent)."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import ChargePoint, call, call_result, datatypes, enums
from ocpp.v201.enums import Action

from edge.ocpp.calls import after, checked, on
from edge.ocpp.context import Context, iso, parse_iso
from edge.ocpp.edge_side import EdgeSide
from edge.ocpp.profiles import ProfileOrder, Purpose
from edge.ocpp.states import meter_points, v201_word
from edge.ocpp.station import Transaction

log = logging.getLogger(__name__)

_PURPOSE = {
    Purpose.CABINET_MAX: enums.ChargingProfilePurposeEnumType.charging_station_max_profile,
    Purpose.TX_DEFAULT: enums.ChargingProfilePurposeEnumType.tx_default_profile,
    Purpose.TX: enums.ChargingProfilePurposeEnumType.tx_profile,
}


class V201ChargePoint(EdgeSide, ChargePoint):  # type: ignore[misc]  # the package is untyped
    ctx: Context

    def _show(self, evse: int) -> None:
        st = self.ctx.station
        plug = st.plugs.get(evse)
        if plug is not None:
            self.ctx.image.status(st, evse, v201_word(plug, st.charging.get(evse)))

    @on(Action.boot_notification)
    def on_boot(self, charging_station: dict[str, Any], reason: str, **kw: Any) -> Any:
        st = self.ctx.station
        st.vendor, st.model = (
            str(charging_station.get("vendor_name", "")),
            str(charging_station.get("model", "")),
        )
        st.firmware = str(charging_station.get("firmware_version") or "")
        log.info("ocpp_boot charger=%s version=2.0.1 vendor=%s model=%s firmware=%s reason=%s",
                 st.identity, st.vendor, st.model, st.firmware, reason)  # fmt: skip
        return call_result.BootNotification(
            self._now(), self.ctx.settings.heartbeat_s, enums.RegistrationStatusEnumType.accepted
        )

    @after(Action.boot_notification)
    def after_boot(self, **kw: Any) -> None:
        self.ctx.spawn(self.ctx.on_boot())

    @on(Action.heartbeat)
    def on_heartbeat(self, **kw: Any) -> Any:
        return call_result.Heartbeat(self._now())

    @on(Action.status_notification)
    def on_status(self, connector_status: str, evse_id: int, connector_id: int, **kw: Any) -> Any:
        self.ctx.station.plugs[evse_id] = connector_status
        self._show(evse_id)
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> Any:
        decision = await self.ctx.auth.authorize(str(id_token.get("id_token", "")), None)
        return call_result.Authorize(datatypes.IdTokenInfoType(decision.status))

    @on(Action.transaction_event)
    async def on_transaction(
        self, event_type: str, timestamp: str, transaction_info: dict[str, Any], **kw: Any
    ) -> Any:
        ctx, st = self.ctx, self.ctx.station
        tx = str(transaction_info["transaction_id"])
        evse = _evse_of(kw.get("evse"), st.transactions, tx)
        at = parse_iso(timestamp, ctx.clock.wall())
        token = str((kw.get("id_token") or {}).get("id_token", ""))
        answer: Any = call_result.TransactionEvent()
        if token:
            decision = await ctx.auth.authorize(token, ctx.bay(evse) if evse else None)
            info = datatypes.IdTokenInfoType(decision.status)
            answer = call_result.TransactionEvent(id_token_info=info)
        if evse is None:
            log.info("ocpp_transaction_unplaced charger=%s tx=%s event=%s", self.id, tx, event_type)
            return answer
        # 2.0.1 has no meterStart/meterStop: the register comes with the Started/Ended event
        register = meter_points(kw.get("meter_value") or ()).get("energy_register_wh")
        if evse not in st.transactions or st.transactions[evse].id != tx:
            self._opened(evse, tx, token, register if event_type == "Started" else None, at)
        if transaction_info.get("charging_state"):
            st.charging[evse] = str(transaction_info["charging_state"])
        if kw.get("meter_value"):
            ctx.image.meter(st, evse, kw["meter_value"])
            bay = ctx.bay(evse)
            if bay is not None:
                ctx.sessions.meter_values(bay, tx, kw["meter_value"], at)
        if event_type == "Ended":
            reason = str(transaction_info.get("stopped_reason") or "Local")
            self._ended(evse, tx, reason, register, at)
        self._show(evse)
        return answer

    def _opened(self, evse: int, tx: str, token: str, start_wh: float | None, at: float) -> None:
        bay = self.ctx.bay(evse)
        self.ctx.station.transactions[evse] = Transaction(tx, token, None, at)
        log.info("ocpp_transaction_started charger=%s evse=%d bay=%s tx=%s", self.id, evse, bay, tx)
        if bay is not None:
            self.ctx.sessions.started(bay, tx, token, start_wh, at)

    def _ended(self, evse: int, tx: str, reason: str, stop_wh: float | None, at: float) -> None:
        st = self.ctx.station
        st.transactions.pop(evse, None)
        st.charging.pop(evse, None)
        log.info("ocpp_transaction_stopped charger=%s evse=%d tx=%s reason=%s",
                 self.id, evse, tx, reason)  # fmt: skip
        bay = self.ctx.bay(evse)
        if bay is not None:
            self.ctx.sessions.ended(bay, tx, stop_wh, reason, at)

    @on(Action.meter_values)
    def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        ctx = self.ctx
        ctx.image.meter(ctx.station, evse_id, meter_value)
        bay = ctx.bay(evse_id)
        if bay is not None:
            ctx.sessions.meter_values(
                bay, ctx.station.tx_of(evse_id), meter_value, ctx.clock.wall()
            )
        return call_result.MeterValues()

    # --- our calls ------------------------------------------------------------------------
    async def set_profile(self, order: ProfileOrder) -> str | None:
        schedule = datatypes.ChargingScheduleType(
            order.profile_id, enums.ChargingRateUnitEnumType.watts,
            [datatypes.ChargingSchedulePeriodType(0, order.limit_w)],
            start_schedule=iso(self.ctx.clock.wall()),
        )  # fmt: skip
        profile = datatypes.ChargingProfileType(
            order.profile_id, order.stack_level, _PURPOSE[order.purpose],
            enums.ChargingProfileKindEnumType.absolute, [schedule],
            valid_to=iso(order.valid_to) if order.valid_to is not None else None,
            transaction_id=order.transaction_id,
        )  # fmt: skip
        return await checked(self, call.SetChargingProfile(order.connector, profile))

    async def sample_every(self, seconds: int) -> str | None:
        """MeterValues every `seconds` in a transaction (SampledDataCtrlr.TxUpdatedInterval)."""
        data = datatypes.SetVariableDataType(
            str(seconds),
            datatypes.ComponentType("SampledDataCtrlr"),
            datatypes.VariableType("TxUpdatedInterval"),
        )
        return await checked(self, call.SetVariables([data]), status_of=_first_attribute_status)

    async def reset(self, hard: bool) -> str | None:
        kind = enums.ResetEnumType.immediate if hard else enums.ResetEnumType.on_idle
        return await checked(self, call.Reset(kind), ok=("Accepted", "Scheduled"))

    async def unlock(self, connector: int) -> str | None:
        return await checked(self, call.UnlockConnector(connector, 1), ok=("Unlocked",))


def _first_attribute_status(answer: Any) -> str:
    results = getattr(answer, "set_variable_result", None) or [{}]
    return str(results[0].get("attribute_status", ""))


def _evse_of(evse: Any, transactions: dict[int, Transaction], tx: str) -> int | None:
    """The EVSE of an event: given in the first event of a transaction, later known by id."""
    if isinstance(evse, dict) and isinstance(evse.get("id"), int):
        return int(evse["id"])
    return next((e for e, t in transactions.items() if t.id == tx), None)
