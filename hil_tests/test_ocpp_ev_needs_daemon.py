"""The whole daemon with a 2.0.1 charge point built with the `ocpp` package on loopback: the
truck's needs (NotifyEVChargingNeeds) become its session's estimates in the power
controller (Source.VEHICLE), and go with the truck."""

from __future__ import annotations

from pathlib import Path

import pytest
from ocpp.v201 import call as call201

from edge.clock import SystemClock
from edge.ocpp.context import iso, parse_iso
from edge.sessions import Estimate, Source
from tests.ocpp_peers import Record, charge_point, ocpp_daemon
from tests.polling import wait_until

pytestmark = pytest.mark.hil


async def test_the_daemon_plans_a_truck_by_the_needs_it_tells(tmp_path: Path) -> None:
    async with (
        ocpp_daemon(tmp_path) as (daemon, port),
        charge_point(port, "CP201", "2.0.1", Record()) as cp,
    ):
        power = daemon.power
        assert power is not None
        await cp.call(
            call201.StatusNotification(iso(SystemClock().wall()), "Occupied", 1, 1), suppress=False
        )
        info = {"transaction_id": "tx-1", "charging_state": "Charging"}
        await cp.call(call201.TransactionEvent(
            "Started", iso(SystemClock().wall()), "CablePluggedIn", 0, info,
            evse={"id": 1, "connector_id": 1},
        ), suppress=False)  # fmt: skip
        await wait_until(lambda: "B3" in power.sessions, 15, "a session on B3")
        assert power.sessions["B3"].energy_wanted_wh.source is Source.DEFAULT
        leave = iso(SystemClock().wall() + 5400)
        needs = {
            "requested_energy_transfer": "DC",
            "departure_time": leave,
            "dc_charging_parameters": {
                "ev_max_current": 500,
                "ev_max_voltage": 800,
                "energy_amount": 280_000,
            },
        }
        answer = await cp.call(call201.NotifyEVChargingNeeds(needs, 1), suppress=False)
        assert answer.status == "Accepted"
        told = Estimate(280_000.0, Source.VEHICLE)
        await wait_until(lambda: power.sessions["B3"].energy_wanted_wh == told, 15, "vehicle")
        assert power.sessions["B3"].departure == Estimate(parse_iso(leave, 0.0), Source.VEHICLE)
        await cp.call(call201.TransactionEvent(
            "Ended", iso(SystemClock().wall()), "EVDeparted", 1,
            {"transaction_id": "tx-1", "stopped_reason": "EVDisconnected"},
        ), suppress=False)  # fmt: skip
        await cp.call(
            call201.StatusNotification(iso(SystemClock().wall()), "Available", 1, 1),
            suppress=False,
        )
        await wait_until(lambda: "B3" not in power.sessions, 15, "the session gone")
