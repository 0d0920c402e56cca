"""OCPP 2.0.1: the messages a charging station sends us, and the calls we make. A bay is an
EVSE (`connector_id` in the site file is the EVSE id); its word joins the connector status
(StatusNotification) and the transaction's charging state (TransactionEvent); what its truck
asks for over ISO 15118 (NotifyEVChargingNeeds) is kept until the transaction ends or the
EVSE is Available. Handlers map the wire fields onto `EdgeSide`, which does the rest for
both versions."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v201 import ChargePoint, call, call_result, datatypes, enums
from ocpp.v201.enums import Action

from edge.ocpp.calls import checked, on
from edge.ocpp.context import Context, parse_iso
from edge.ocpp.edge_side import EdgeSide
from edge.ocpp.ev_needs import read_needs
from edge.ocpp.profiles import ProfileOrder, Purpose
from edge.ocpp.states import meter_points, v201_word

log = logging.getLogger(__name__)

_PURPOSE = {
    Purpose.CABINET_MAX: enums.ChargingProfilePurposeEnumType.charging_station_max_profile,
    Purpose.TX_DEFAULT: enums.ChargingProfilePurposeEnumType.tx_default_profile,
    Purpose.TX: enums.ChargingProfilePurposeEnumType.tx_profile,
}


class V201ChargePoint(EdgeSide, ChargePoint):  # type: ignore[misc]  # the package is untyped
    ctx: Context
    results = call_result

    def _show(self, evse: int) -> None:
        st = self.ctx.station
        plug = st.plugs.get(evse)
        if plug is not None:
            self.ctx.image.status(st, evse, v201_word(plug, st.charging.get(evse)))

    @on(Action.boot_notification)
    def on_boot(self, charging_station: dict[str, Any], reason: str, **kw: Any) -> Any:
        return self._booted(
            str(charging_station.get("vendor_name", "")),
            str(charging_station.get("model", "")),
            str(charging_station.get("firmware_version") or ""),
            "2.0.1",
            reason,
        )

    @on(Action.status_notification)
    def on_status(self, connector_status: str, evse_id: int, connector_id: int, **kw: Any) -> Any:
        self.ctx.station.plugs[evse_id] = connector_status
        if connector_status == "Available":  # no truck: what one asked for is gone with it
            self.ctx.station.needs.pop(evse_id, None)
        self._show(evse_id)
        return call_result.StatusNotification()

    @on(Action.notify_ev_charging_needs)
    def on_ev_needs(self, charging_needs: dict[str, Any], evse_id: int, **kw: Any) -> Any:
        """Accepted, as the standard asks of a CSMS that takes the needs into its schedule:
        the control cycle's TxProfile is that schedule."""
        st, status = self.ctx.station, enums.NotifyEVChargingNeedsStatusEnumType
        if self.ctx.bay(evse_id) is None:  # an EVSE the site file has no bay for
            log.info("ocpp_ev_needs_unplaced charger=%s evse=%s", st.identity, evse_id)
            return call_result.NotifyEVChargingNeeds(status.rejected)
        needs, refused = read_needs(charging_needs, self.ctx.clock.wall(), st.needs.get(evse_id))
        for r in refused:
            log.warning("ocpp_ev_needs_ignored charger=%s evse=%d field=%s value=%r why=%s",
                        st.identity, evse_id, r.field, r.value, r.why)  # fmt: skip
        st.needs[evse_id] = needs
        log.info("ocpp_ev_needs charger=%s evse=%d energy_wh=%s departure=%s",
                 st.identity, evse_id, needs.energy_wh, needs.departure)  # fmt: skip
        return call_result.NotifyEVChargingNeeds(status.accepted)

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **kw: Any) -> Any:
        status = await self._authorized(str(id_token.get("id_token", "")), None)
        return call_result.Authorize(datatypes.IdTokenInfoType(status))

    @on(Action.transaction_event)
    async def on_transaction(
        self, event_type: str, timestamp: str, transaction_info: dict[str, Any], **kw: Any
    ) -> Any:
        st = self.ctx.station
        tx = str(transaction_info["transaction_id"])
        evse = _evse_of(kw.get("evse"))
        evse = self._connector_of(tx) if evse is None else evse
        at = parse_iso(timestamp, self.ctx.clock.wall())
        token = str((kw.get("id_token") or {}).get("id_token", ""))
        answer: Any = call_result.TransactionEvent()
        if token:
            info = datatypes.IdTokenInfoType(await self._authorized(token, evse))
            answer = call_result.TransactionEvent(id_token_info=info)
        if evse is None:
            log.info("ocpp_transaction_unplaced charger=%s tx=%s event=%s", self.id, tx, event_type)
            return answer
        # 2.0.1 has no meterStart/meterStop: the register comes with the Started/Ended event
        values = kw.get("meter_value") or []
        register = meter_points(values).get("energy_register_wh")
        if evse not in st.transactions or st.transactions[evse].id != tx:
            # the first reading opens the count when the Started event carried none
            self._opened(evse, tx, token, register if event_type == "Started" else None, at)
        if transaction_info.get("charging_state"):
            st.charging[evse] = str(transaction_info["charging_state"])
        if values:
            self._metered(evse, tx, values, at)
        if event_type == "Ended":
            reason = str(transaction_info.get("stopped_reason") or "Local")
            self._ended(evse, tx, reason, register, at)
        self._show(evse)
        return answer

    @on(Action.meter_values)
    def on_meter_values(self, evse_id: int, meter_value: list[dict[str, Any]], **kw: Any) -> Any:
        tx = self.ctx.station.tx_of(evse_id)
        self._metered(evse_id, tx, meter_value, self.ctx.clock.wall())
        return call_result.MeterValues()

    # --- our calls ------------------------------------------------------------------------
    async def set_profile(self, order: ProfileOrder) -> str | None:
        unit, limit = self._limit(order)
        schedule = datatypes.ChargingScheduleType(
            order.profile_id, unit, [datatypes.ChargingSchedulePeriodType(0, limit)],
            start_schedule=self._now(),
        )  # fmt: skip
        profile = datatypes.ChargingProfileType(
            order.profile_id, order.stack_level, _PURPOSE[order.purpose],
            enums.ChargingProfileKindEnumType.absolute, [schedule],
            valid_to=self._valid_to(order), transaction_id=order.transaction_id,
        )  # fmt: skip
        return await checked(self, call.SetChargingProfile(order.connector, profile))

    async def rate_unit(self) -> str | None:
        """The station's SmartChargingCtrlr.RateUnit ("A", "W" or "A,W"); None if not given."""
        data = datatypes.GetVariableDataType(
            datatypes.ComponentType("SmartChargingCtrlr"), datatypes.VariableType("RateUnit")
        )
        answer = await self.call(call.GetVariables([data]), suppress=False)
        rows = getattr(answer, "get_variable_result", None) or [{}]
        ok = rows[0].get("attribute_status") == "Accepted"
        return str(rows[0].get("attribute_value")) if ok else None

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


def _evse_of(evse: Any) -> int | None:
    """The EVSE an event names: given in the first event of a transaction, later known by id."""
    if isinstance(evse, dict) and isinstance(evse.get("id"), int):
        return int(evse["id"])
    return None
