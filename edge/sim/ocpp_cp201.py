"""OCPP 2.0.1 for the simulated charge point: the `ocpp` package's v201 `ChargePoint`.

Each EVSE has one connector (connector_id 1). A session is one transaction whose id the
charge point makes (`<identity>-<n>`): TransactionEvent Started (with the id token and the
start reading), Updated (periodic meter values, charging-state changes) and Ended; queued
while offline and sent later with `offline: true`, in order, `seq_no` counting up.

Sent: BootNotification, StatusNotification (Available / Occupied), Heartbeat, Authorize,
TransactionEvent, and NotifyEVChargingNeeds after a Started event when `ev_needs` is set
(the truck's needs as ISO 15118 tells them: DC, what it wants this visit, when it leaves).
Answered: SetChargingProfile, ClearChargingProfile, GetCompositeSchedule,
RequestStartTransaction, RequestStopTransaction, Reset, UnlockConnector, SetVariables,
GetVariables (`edge.sim.ocpp_variables`; the Actual attribute, no component instances).
"""

from __future__ import annotations

import logging
from typing import Any

from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from edge.sim.ocpp_cp16 import Host
from edge.sim.ocpp_station import Item, Status
from edge.sim.ocpp_wire import (
    ProfileError,
    SimWireLogger,
    ev_charging_needs,
    iso,
    signed_reading,
    to_sim_profile,
)

log = logging.getLogger(__name__)

_STOP_REASONS = {  # the station's 1.6 reason names -> 2.0.1 ReasonEnumType
    "SoftReset": "ImmediateReset",
    "HardReset": "ImmediateReset",
    "UnlockCommand": "Other",
}
_TRIGGERS = {
    "start": "Authorized",
    "meter": "MeterValuePeriodic",
    "state": "ChargingStateChanged",
    "stop": "EVDeparted",
}
_STOP_TRIGGERS = {"Remote": "RemoteStop", "DeAuthorized": "Deauthorized"}
_CHARGING_STATES = {
    Status.CHARGING: "Charging",
    Status.SUSPENDED_EV: "SuspendedEV",
    Status.SUSPENDED_EVSE: "SuspendedEVSE",
}


class Cp201(ChargePoint):  # type: ignore[misc]  # the ocpp package is untyped
    def __init__(self, host: Host, connection: Any) -> None:
        cfg = host.station.config
        super().__init__(cfg.identity, connection, cfg.response_timeout_s, SimWireLogger())
        self.host = host
        self._seq = 0

    # ---- sent by the charge point ------------------------------------------------------

    async def boot(self) -> tuple[bool, float]:
        cfg = self.host.station.config
        station = {"model": cfg.model, "vendor_name": cfg.vendor, "firmware_version": cfg.firmware}
        r = await self.call(call.BootNotification(station, "PowerUp"), suppress=False)
        return r.status == "Accepted", float(r.interval)

    async def heartbeat(self) -> None:
        await self.call(call.Heartbeat(), suppress=False)

    async def status(self, connector: int, status: str, wall: float) -> None:
        word = "Available" if connector == 0 or status == Status.AVAILABLE else "Occupied"
        if connector == 0:
            return  # 2.0.1 reports connectors of EVSEs only
        await self.call(call.StatusNotification(iso(wall), word, connector, 1), suppress=False)

    async def send(self, item: Item) -> None:
        st = self.host.station
        if item.kind == "status":
            await self.status(item.connector, item.value, item.wall)
            return
        if item.kind == "start" and item.wall >= self.host.online_since:  # else local
            token = {"id_token": item.id_tag, "type": "ISO14443"}
            auth = await self.call(call.Authorize(token), suppress=False)
            if auth.id_token_info["status"] != "Accepted":
                st.stop_session(item.connector, "DeAuthorized", self.host.clock.wall())
                return
        await self.call(self._event(item), suppress=False)
        if item.kind == "start" and st.config.ev_needs:
            await self._needs(item)

    async def _needs(self, item: Item) -> None:
        """What the truck of `item`'s session asks for, if that session is still on."""
        st = self.host.station
        session = st.connectors[item.connector].session
        if session is None or session.local_id != item.session:
            return  # sent late (queued offline) and the truck is gone: nothing to ask for
        needs = ev_charging_needs(session.truck.spec, st.config.volts, item.wall)
        await self.call(call.NotifyEVChargingNeeds(needs, item.connector), suppress=False)

    def _event(self, item: Item) -> call.TransactionEvent:
        st = self.host.station
        tx: dict[str, Any] = {"transaction_id": st.tx_ids[item.session]}
        kind = {"start": "Started", "stop": "Ended"}.get(item.kind, "Updated")
        trigger = _TRIGGERS[item.kind]
        if item.kind == "state":
            tx["charging_state"] = _CHARGING_STATES.get(Status(item.value), "Idle")
        if item.kind == "stop":
            tx["stopped_reason"] = _STOP_REASONS.get(item.value, item.value)
            trigger = _STOP_TRIGGERS.get(item.value, trigger)
        self._seq += 1
        return call.TransactionEvent(
            event_type=kind,
            timestamp=iso(item.wall),
            trigger_reason=trigger,
            seq_no=self._seq,
            transaction_info=tx,
            meter_value=[self._reading(item)] if item.kind != "state" else None,
            offline=True if item.wall < self.host.online_since else None,
            evse={"id": item.connector, "connector_id": 1},
            id_token=(
                {"id_token": item.id_tag, "type": "ISO14443"} if item.kind == "start" else None
            ),
        )

    def _reading(self, item: Item) -> dict[str, Any]:
        cfg = self.host.station.config
        context = {"start": "Transaction.Begin", "stop": "Transaction.End"}
        energy: dict[str, Any] = {
            "value": round(item.register_wh),
            "measurand": "Energy.Active.Import.Register",
            "unit_of_measure": {"unit": "Wh"},
            "context": context.get(item.kind, "Sample.Periodic"),
        }
        if cfg.signed_meter:
            energy["signed_meter_value"] = {
                "signed_meter_data": signed_reading(
                    cfg.identity, item.connector, item.wall, item.register_wh
                ),
                "signing_method": "SIM-HMAC-SHA256",
                "encoding_method": "base64",
                "public_key": "",
            }
        values = [energy]
        if item.kind == "meter":
            values.append(
                {
                    "value": round(item.power_w),
                    "measurand": "Power.Active.Import",
                    "unit_of_measure": {"unit": "W"},
                }
            )
            if item.soc_pct is not None:
                values.append(
                    {
                        "value": round(item.soc_pct, 1),
                        "measurand": "SoC",
                        "unit_of_measure": {"unit": "Percent"},
                    }
                )
        return {"timestamp": iso(item.wall), "sampled_value": values}

    # ---- answered by the charge point --------------------------------------------------

    @on(Action.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any]
    ) -> call_result.SetChargingProfile:
        await self.host.answer_delay()
        st, now = self.host.station, self.host.clock.wall()
        try:
            profile = to_sim_profile(charging_profile, evse_id, st.config.volts, now)
        except ProfileError:
            return call_result.SetChargingProfile("Rejected")
        why = st.set_profile(evse_id, profile, now)
        if why is None:
            return call_result.SetChargingProfile("Accepted")
        return call_result.SetChargingProfile(
            "Rejected", {"reason_code": "Unsupported", "additional_info": why[:512]}
        )

    @on(Action.clear_charging_profile)  # type: ignore[untyped-decorator]
    async def on_clear_charging_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
    ) -> call_result.ClearChargingProfile:
        await self.host.answer_delay()
        c = charging_profile_criteria or {}
        removed = self.host.station.clear_profiles(
            charging_profile_id,
            c.get("evse_id"),
            c.get("charging_profile_purpose"),
            c.get("stack_level"),
        )
        return call_result.ClearChargingProfile("Accepted" if removed else "Unknown")

    @on(Action.get_composite_schedule)  # type: ignore[untyped-decorator]
    async def on_get_composite_schedule(
        self, duration: int, evse_id: int, **_: Any
    ) -> call_result.GetCompositeSchedule:
        await self.host.answer_delay()
        st, now = self.host.station, self.host.clock.wall()
        if evse_id not in st.connectors:
            return call_result.GetCompositeSchedule("Rejected")
        schedule = {
            "evse_id": evse_id,
            "duration": duration,
            "schedule_start": iso(now),
            "charging_rate_unit": "W",
            "charging_schedule_period": [{"start_period": 0, "limit": st.limits_w(now)[evse_id]}],
        }
        return call_result.GetCompositeSchedule("Accepted", schedule=schedule)

    @on(Action.request_start_transaction)  # type: ignore[untyped-decorator]
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> call_result.RequestStartTransaction:
        await self.host.answer_delay()
        st = self.host.station
        target = evse_id or next(
            (c for c, k in st.connectors.items() if k.truck and not k.session), 0
        )
        ok = target in st.connectors and st.start_session(
            target, str(id_token["id_token"]), self.host.clock.wall()
        )
        if not ok:
            return call_result.RequestStartTransaction("Rejected")
        session = st.connectors[target].session
        tx = session.tx_id if session is not None else None
        return call_result.RequestStartTransaction("Accepted", transaction_id=tx)

    @on(Action.request_stop_transaction)  # type: ignore[untyped-decorator]
    async def on_request_stop(self, transaction_id: str) -> call_result.RequestStopTransaction:
        await self.host.answer_delay()
        st = self.host.station
        c = st.connector_of_tx(transaction_id)
        ok = c is not None and st.stop_session(c, "Remote", self.host.clock.wall())
        return call_result.RequestStopTransaction("Accepted" if ok else "Rejected")

    @on(Action.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, type: str, evse_id: int | None = None) -> call_result.Reset:
        await self.host.answer_delay()
        self.host.reset_soon("SoftReset")
        return call_result.Reset("Accepted")

    @on(Action.unlock_connector)  # type: ignore[untyped-decorator]
    async def on_unlock(self, evse_id: int, connector_id: int) -> call_result.UnlockConnector:
        await self.host.answer_delay()
        st = self.host.station
        if evse_id not in st.connectors or connector_id != 1:
            return call_result.UnlockConnector("UnknownConnector")
        st.stop_session(evse_id, "UnlockCommand", self.host.clock.wall())
        return call_result.UnlockConnector("Unlocked")

    @on(Action.set_variables)  # type: ignore[untyped-decorator]
    async def on_set_variables(
        self, set_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.SetVariables:
        await self.host.answer_delay()
        variables, results = self.host.station.variables, []
        for item in set_variable_data:
            attribute = item.get("attribute_type", "Actual")
            status = variables.set(*_names(item), str(item["attribute_value"]), attribute)
            log.info("ocpp_sim_config cp=%s variable=%s status=%s", self.id, _names(item), status)
            results.append(_result(item, status))
        return call_result.SetVariables(results)

    @on(Action.get_variables)  # type: ignore[untyped-decorator]
    async def on_get_variables(
        self, get_variable_data: list[dict[str, Any]], **_: Any
    ) -> call_result.GetVariables:
        await self.host.answer_delay()
        results = []
        for item in get_variable_data:
            attribute = item.get("attribute_type", "Actual")
            status, value = self.host.station.variables.read(*_names(item), attribute)
            result = _result(item, status)
            if value is not None:
                result["attribute_value"] = value
            results.append(result)
        return call_result.GetVariables(results)


def _names(item: dict[str, Any]) -> tuple[str, str]:
    """(component, variable) names; "" for an instance or EVSE we do not have."""
    c, v = item["component"], item["variable"]
    component = "" if c.get("instance") or c.get("evse") else str(c["name"])
    return component, "" if v.get("instance") else str(v["name"])


def _result(item: dict[str, Any], status: str) -> dict[str, Any]:
    out = {"attribute_status": status, "component": item["component"], "variable": item["variable"]}
    if "attribute_type" in item:
        out["attribute_type"] = item["attribute_type"]
    return out
