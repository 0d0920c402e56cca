"""NotifyEVChargingNeeds from a 2.0.1 charge point built with the `ocpp` package, over
loopback: answered Accepted, the truck's figures on its bay's status and in its session,
bad values logged once and ignored, forgotten when the transaction ends or the EVSE is free;
and the simulated 2.0.1 charge point that sends its truck's needs when configured to."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from ocpp.v201 import call as call201

from edge.chargers.port import BayStatus
from edge.chargers.site_port import SitePort
from edge.clock import SystemClock
from edge.ocpp.context import iso, parse_iso
from edge.ocpp.site import OcppSite
from edge.power_inputs import track_sessions
from edge.sessions import Estimate, SessionKind, Source
from edge.sim.ocpp_config import V201
from edge.sim.ocpp_fleet import OcppFleet, cp_configs
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from tests.ocpp_peers import PASSWORD, Record, charge_point, endpoint
from tests.polling import wait_until

DC = {"ev_max_current": 500, "ev_max_voltage": 800, "ev_energy_capacity": 540_000}


def _b3(site: OcppSite) -> BayStatus:
    snap = site.writer.image.freeze(site.clock.monotonic(), site.clock.wall())
    return next(s for s in SitePort(site.backends()).states(snap) if s.bay == "B3")


def _needs(energy_wh: object, departure: str | None, evse: int = 1) -> Any:
    needs = {"requested_energy_transfer": "DC", "dc_charging_parameters": {**DC}}
    needs["dc_charging_parameters"]["energy_amount"] = energy_wh
    if departure is not None:
        needs["departure_time"] = departure
    return call201.NotifyEVChargingNeeds(needs, evse)


async def _start(cp: Any) -> None:
    await cp.call(
        call201.StatusNotification("2026-11-30T10:00:00Z", "Occupied", 1, 1), suppress=False
    )
    await cp.call(call201.TransactionEvent(
        "Started", "2026-11-30T10:00:01Z", "CablePluggedIn", 0,
        {"transaction_id": "tx-1", "charging_state": "Charging"}, evse={"id": 1, "connector_id": 1},
    ), suppress=False)  # fmt: skip


async def test_the_trucks_needs_reach_its_bay_and_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", Record()) as cp:
        await _start(cp)
        leave = iso(site.clock.wall() + 7200)
        answer = await cp.call(_needs(250_000, leave), suppress=False)
        assert answer.status == "Accepted"
        b3 = _b3(site)
        departure = parse_iso(leave, 0.0)
        assert (b3.ev_energy_wanted_wh, b3.ev_departure) == (250_000.0, departure)
        assert b3.ev_battery_wh == 540_000.0  # the battery's size: the plan's taper
        session = track_sessions(site.config, {"B3": b3}, {}, site.clock.wall(), 0.0)["B3"]
        assert session.energy_wanted_wh == Estimate(250_000.0, Source.VEHICLE)
        assert session.departure == Estimate(departure, Source.VEHICLE)

        # Nonsense is answered (the truck is not the charger's to refuse) and ignored, logged
        # once per field with the charger and EVSE; the earlier figures stand.
        caplog.set_level(logging.WARNING, logger="edge.ocpp.v201")
        bad = await cp.call(_needs(-1, "2020-01-01T00:00:00Z"), suppress=False)
        assert bad.status == "Accepted"
        lines = [r.getMessage() for r in caplog.records if "ocpp_ev_needs_ignored" in r.msg]
        assert len(lines) == 2
        assert "charger=CP201 evse=1 field=dcChargingParameters.energyAmount" in lines[0]
        assert "charger=CP201 evse=1 field=departureTime" in lines[1]
        assert (_b3(site).ev_energy_wanted_wh, _b3(site).ev_departure) == (250_000.0, departure)
        unplaced = await cp.call(_needs(1_000, None, evse=7), suppress=False)
        assert unplaced.status == "Rejected"
        assert site.stations["CP201"].errors_out == 0

        await cp.call(call201.TransactionEvent(
            "Ended", "2026-11-30T11:00:00Z", "EVDeparted", 1,
            {"transaction_id": "tx-1", "stopped_reason": "EVDisconnected"},
        ), suppress=False)  # fmt: skip
        assert (_b3(site).ev_energy_wanted_wh, _b3(site).ev_departure) == (None, None)


async def test_a_free_evse_forgets_the_trucks_needs(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", Record()) as cp:
        await cp.call(
            call201.StatusNotification("2026-11-30T10:00:00Z", "Occupied", 1, 1), suppress=False
        )
        await cp.call(_needs(80_000, None), suppress=False)  # before any transaction
        assert (_b3(site).ev_energy_wanted_wh, _b3(site).ev_departure) == (80_000.0, None)
        await cp.call(
            call201.StatusNotification("2026-11-30T10:05:00Z", "Available", 1, 1), suppress=False
        )
        assert _b3(site).ev_energy_wanted_wh is None


async def test_a_simulated_charge_point_tells_its_trucks_needs(tmp_path: Path) -> None:
    fast = {"tick_s": 0.05, "meter_every_s": 0.2, "backoff_s": (0.05, 0.2)}
    async with endpoint(tmp_path) as site:
        config, now = site.config, SystemClock().wall()
        plant = Plant(
            config.limits, config.chargers, config.bays, config.timezone, now, Weather(pv_kw=0)
        )
        cps = cp_configs(config, {"CP201": V201}, {"CP201": PASSWORD}, ev_needs=True, **fast)
        url = f"ws://127.0.0.1:{site.port()}/ocpp"
        fleet = OcppFleet(
            url, plant, SystemClock(), [c for c in cps if c.identity == "CP201"], 0.05
        )
        await fleet.start()
        try:
            await fleet.wait_online(10)
            spec = TruckSpec(
                "T1",
                SessionKind.BREAK,
                "CCS",
                now,
                now + 3600,
                540_000.0,
                0.2,
                200_000.0,
                CCS_MAX_W,
            )
            plant.arrive(spec, "B3")
            await wait_until(lambda: _b3(site).ev_energy_wanted_wh is not None, 10, "needs told")
            b3 = _b3(site)
            assert b3.ev_energy_wanted_wh == 200_000.0
            assert b3.ev_departure == pytest.approx(now + 3600, abs=0.001)  # to the ms, as sent
        finally:
            await fleet.stop()
