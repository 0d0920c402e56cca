"""OCPP 1.6J: the messages a charge point sends us, and the calls we make (profiles, reset,
unlock). Handlers take the `ocpp` package's snake_case keyword arguments and map the wire
fields onto `EdgeSide`, which does the rest for both versions."""

from __future__ import annotations

import logging
from typing import Any

from ocpp.v16 import ChargePoint, call, call_result, datatypes, enums
from ocpp.v16.enums import Action

from edge.ocpp.calls import checked, on
from edge.ocpp.context import Context, parse_iso
from edge.ocpp.edge_side import EdgeSide
from edge.ocpp.profiles import ProfileOrder, Purpose

log = logging.getLogger(__name__)

_PURPOSE = {
    Purpose.CABINET_MAX: enums.ChargingProfilePurposeType.charge_point_max_profile,
    Purpose.TX_DEFAULT: enums.ChargingProfilePurposeType.tx_default_profile,
    Purpose.TX: enums.ChargingProfilePurposeType.tx_profile,
}
RATE_UNIT_KEY = "ChargingScheduleAllowedChargingRateUnit"  # "Current", "Power" or both


class V16ChargePoint(EdgeSide, ChargePoint):  # type: ignore[misc]  # the package is untyped
    ctx: Context
    results = call_result

    @on(Action.boot_notification)
    def on_boot(self, charge_point_vendor: str, charge_point_model: str, **kw: Any) -> Any:
        firmware = str(kw.get("firmware_version") or "")
        return self._booted(charge_point_vendor, charge_point_model, firmware, "1.6", "")

    @on(Action.status_notification)
    def on_status(self, connector_id: int, error_code: str, status: str, **kw: Any) -> Any:
        self.ctx.image.status(self.ctx.station, connector_id, status)
        if error_code != "NoError":
            log.info("ocpp_connector_error charger=%s connector=%d status=%s error=%s info=%s",
                     self.id, connector_id, status, error_code, kw.get("info", ""))  # fmt: skip
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **kw: Any) -> Any:
        return call_result.Authorize(datatypes.IdTagInfo(await self._authorized(id_tag, None)))

    @on(Action.start_transaction)
    async def on_start(
        self, connector_id: int, id_tag: str, meter_start: int, timestamp: str, **kw: Any
    ) -> Any:
        status = await self._authorized(id_tag, connector_id)
        tx = str(self.ctx.next_tx())
        at = parse_iso(timestamp, self.ctx.clock.wall())
        self._opened(connector_id, tx, id_tag, float(meter_start), at)
        return call_result.StartTransaction(int(tx), datatypes.IdTagInfo(status))

    @on(Action.stop_transaction)
    def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int, **kw: Any) -> Any:
        tx, reason = str(transaction_id), str(kw.get("reason") or "Local")
        connector = self._connector_of(tx)
        if connector is None:
            log.info("ocpp_transaction_unplaced charger=%s tx=%s event=stop", self.id, tx)
        else:
            at = parse_iso(timestamp, self.ctx.clock.wall())
            self._ended(connector, tx, reason, float(meter_stop), at)
        if kw.get("id_tag"):
            return call_result.StopTransaction(
                datatypes.IdTagInfo(enums.AuthorizationStatus.accepted)
            )
        return call_result.StopTransaction()

    @on(Action.meter_values)
    def on_meter_values(
        self, connector_id: int, meter_value: list[dict[str, Any]], **kw: Any
    ) -> Any:
        tx = kw.get("transaction_id")
        at = self.ctx.clock.wall()
        self._metered(connector_id, None if tx is None else str(tx), meter_value, at)
        return call_result.MeterValues()

    # --- our calls ------------------------------------------------------------------------
    async def set_profile(self, order: ProfileOrder) -> str | None:
        """None when accepted, else why not."""
        unit, limit = self._limit(order)
        schedule = datatypes.ChargingSchedule(
            unit, [datatypes.ChargingSchedulePeriod(0, limit)], start_schedule=self._now()
        )
        profile = datatypes.ChargingProfile(
            order.profile_id, order.stack_level, _PURPOSE[order.purpose],
            enums.ChargingProfileKindType.absolute, schedule,
            transaction_id=int(order.transaction_id) if order.transaction_id else None,
            valid_to=self._valid_to(order),
        )  # fmt: skip
        return await checked(self, call.SetChargingProfile(order.connector, profile))

    async def rate_unit(self) -> str | None:
        """The charge point's ChargingScheduleAllowedChargingRateUnit; None if not given."""
        answer = await self.call(call.GetConfiguration([RATE_UNIT_KEY]), suppress=False)
        rows = getattr(answer, "configuration_key", None) or []
        return next((str(r.get("value")) for r in rows if r.get("key") == RATE_UNIT_KEY), None)

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
