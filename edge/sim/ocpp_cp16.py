"""OCPP 1.6J for the simulated charge point: the `ocpp` package's v16 `ChargePoint` with
the charge point's side of the messages (the package is the same the edge uses, which is
why the tests also send raw frames).

Sent: BootNotification, StatusNotification, Heartbeat, Authorize, StartTransaction,
MeterValues, StopTransaction. Answered: SetChargingProfile, ClearChargingProfile,
GetCompositeSchedule, RemoteStartTransaction, RemoteStopTransaction, Reset,
UnlockConnector, ChangeConfiguration, GetConfiguration (`edge.sim.ocpp_variables`;
anything else: the package's NotImplemented CALLERROR).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from edge.clock import Clock
from edge.sim.ocpp_station import Item, Station
from edge.sim.ocpp_wire import (
    ProfileError,
    SimWireLogger,
    iso,
    signed_reading,
    to_sim_profile,
)

log = logging.getLogger(__name__)


class Host(Protocol):
    """What the protocol handlers need of the charge point runner."""

    station: Station
    clock: Clock
    online_since: float  # wall time of the last accepted BootNotification

    async def answer_delay(self) -> None: ...
    def reset_soon(self, reason: str) -> None: ...


class Cp16(ChargePoint):  # type: ignore[misc]  # the ocpp package is untyped
    def __init__(self, host: Host, connection: Any) -> None:
        cfg = host.station.config
        super().__init__(cfg.identity, connection, cfg.response_timeout_s, SimWireLogger())
        self.host = host

    # ---- sent by the charge point ------------------------------------------------------

    async def boot(self) -> tuple[bool, float]:
        cfg = self.host.station.config
        r = await self.call(
            call.BootNotification(cfg.model, cfg.vendor, firmware_version=cfg.firmware),
            suppress=False,
        )
        return r.status == "Accepted", float(r.interval)

    async def heartbeat(self) -> None:
        await self.call(call.Heartbeat(), suppress=False)

    async def status(self, connector: int, status: str, wall: float) -> None:
        msg = call.StatusNotification(connector, "NoError", status, timestamp=iso(wall))
        await self.call(msg, suppress=False)

    async def send(self, item: Item) -> None:
        """One outbox item; a state change is carried by its StatusNotification in 1.6."""
        st = self.host.station
        if item.kind == "status":
            await self.status(item.connector, item.value, item.wall)
        elif item.kind == "start":
            await self._start(item)
        elif item.kind == "meter" and item.session in st.tx_ids:
            mv = call.MeterValues(
                item.connector, [self._reading(item)], int(st.tx_ids[item.session])
            )
            await self.call(mv, suppress=False)
        elif item.kind == "stop" and item.session in st.tx_ids:
            stop = call.StopTransaction(
                round(item.register_wh),
                iso(item.wall),
                int(st.tx_ids[item.session]),
                reason=item.value,
                id_tag=item.id_tag,
            )
            await self.call(stop, suppress=False)

    async def _start(self, item: Item) -> None:
        st = self.host.station
        if item.wall >= self.host.online_since:  # started offline: authorized locally
            auth = await self.call(call.Authorize(item.id_tag), suppress=False)
            if auth.id_tag_info["status"] != "Accepted":  # no transaction for it
                st.stop_session(item.connector, "DeAuthorized", self.host.clock.wall())
                return
        start = call.StartTransaction(
            item.connector, item.id_tag, round(item.register_wh), iso(item.wall)
        )
        r = await self.call(start, suppress=False)
        tx = str(r.transaction_id)
        st.tx_ids[item.session] = tx
        conn = st.connectors[item.connector]
        if conn.session is not None and conn.session.local_id == item.session:
            conn.session.tx_id = tx

    def _reading(self, item: Item) -> dict[str, Any]:
        cfg = self.host.station.config
        values: list[dict[str, Any]] = [
            {
                "value": str(round(item.register_wh)),
                "measurand": "Energy.Active.Import.Register",
                "unit": "Wh",
                "context": "Sample.Periodic",
            },
            {"value": f"{item.power_w:.0f}", "measurand": "Power.Active.Import", "unit": "W"},
        ]
        if item.soc_pct is not None:
            values.append({"value": f"{item.soc_pct:.1f}", "measurand": "SoC", "unit": "Percent"})
        if cfg.signed_meter:
            signed = signed_reading(cfg.identity, item.connector, item.wall, item.register_wh)
            values.append(
                {
                    "value": signed,
                    "format": "SignedData",
                    "measurand": "Energy.Active.Import.Register",
                    "unit": "Wh",
                }
            )
        return {"timestamp": iso(item.wall), "sampled_value": values}

    # ---- answered by the charge point --------------------------------------------------

    @on(Action.set_charging_profile)  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any]
    ) -> call_result.SetChargingProfile:
        await self.host.answer_delay()
        st, now = self.host.station, self.host.clock.wall()
        try:
            profile = to_sim_profile(cs_charging_profiles, connector_id, st.config.volts, now)
        except ProfileError:
            return call_result.SetChargingProfile("Rejected")
        why = st.set_profile(connector_id, profile, now)
        return call_result.SetChargingProfile("Accepted" if why is None else "Rejected")

    @on(Action.clear_charging_profile)  # type: ignore[untyped-decorator]
    async def on_clear_charging_profile(self, **kw: Any) -> call_result.ClearChargingProfile:
        await self.host.answer_delay()
        purpose = kw.get("charging_profile_purpose")
        removed = self.host.station.clear_profiles(
            kw.get("id"), kw.get("connector_id"), purpose, kw.get("stack_level")
        )
        return call_result.ClearChargingProfile("Accepted" if removed else "Unknown")

    @on(Action.get_composite_schedule)  # type: ignore[untyped-decorator]
    async def on_get_composite_schedule(
        self, connector_id: int, duration: int, **_: Any
    ) -> call_result.GetCompositeSchedule:
        await self.host.answer_delay()
        st, now = self.host.station, self.host.clock.wall()
        if connector_id not in st.connectors:
            return call_result.GetCompositeSchedule("Rejected")
        schedule = {
            "charging_rate_unit": "W",
            "duration": duration,
            "charging_schedule_period": [
                {"start_period": 0, "limit": st.limits_w(now)[connector_id]}
            ],
        }
        return call_result.GetCompositeSchedule(
            "Accepted", connector_id, iso(now), charging_schedule=schedule
        )

    @on(Action.remote_start_transaction)  # type: ignore[untyped-decorator]
    async def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, **_: Any
    ) -> call_result.RemoteStartTransaction:
        await self.host.answer_delay()
        st = self.host.station
        target = connector_id or next(
            (c for c, k in st.connectors.items() if k.truck and not k.session), 0
        )
        ok = target in st.connectors and st.start_session(target, id_tag, self.host.clock.wall())
        return call_result.RemoteStartTransaction("Accepted" if ok else "Rejected")

    @on(Action.remote_stop_transaction)  # type: ignore[untyped-decorator]
    async def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        await self.host.answer_delay()
        st = self.host.station
        c = st.connector_of_tx(str(transaction_id))
        ok = c is not None and st.stop_session(c, "Remote", self.host.clock.wall())
        return call_result.RemoteStopTransaction("Accepted" if ok else "Rejected")

    @on(Action.reset)  # type: ignore[untyped-decorator]
    async def on_reset(self, type: str) -> call_result.Reset:
        await self.host.answer_delay()
        self.host.reset_soon("HardReset" if type == "Hard" else "SoftReset")
        return call_result.Reset("Accepted")

    @on(Action.unlock_connector)  # type: ignore[untyped-decorator]
    async def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        await self.host.answer_delay()
        st = self.host.station
        if connector_id not in st.connectors:
            return call_result.UnlockConnector("NotSupported")
        st.stop_session(connector_id, "UnlockCommand", self.host.clock.wall())
        return call_result.UnlockConnector("Unlocked")

    @on(Action.change_configuration)  # type: ignore[untyped-decorator]
    async def on_change_configuration(
        self, key: str, value: str
    ) -> call_result.ChangeConfiguration:
        await self.host.answer_delay()
        status = self.host.station.variables.change(key, value)
        log.info("ocpp_sim_config cp=%s key=%s status=%s", self.id, key, status)
        return call_result.ChangeConfiguration(status)

    @on(Action.get_configuration)  # type: ignore[untyped-decorator]
    async def on_get_configuration(
        self, key: list[str] | None = None
    ) -> call_result.GetConfiguration:
        await self.host.answer_delay()
        known, unknown = self.host.station.variables.get(key)
        return call_result.GetConfiguration(known, unknown or None)
