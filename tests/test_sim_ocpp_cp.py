"""Simulated OCPP charge points (1.6J and 2.0.1) against a minimal CSMS built with the same
`ocpp` package, over websockets on 127.0.0.1: boot, status, sessions and meter values, a
profile the plant's draw follows, rejected profiles, a dropped connection with its queued
transaction messages delivered on return, the fallback profile when the CSMS goes away.

The CSMS records the raw frames it receives (camelCase, as on the wire), so what is checked
is the charge point's JSON, not the package's view of it. Waits are bounded polls.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.v16 import call as c16
from ocpp.v201 import call as c201

from edge.clock import SystemClock
from edge.sessions import SessionKind
from edge.sim.ocpp_config import V16, V201
from edge.sim.ocpp_csms import TestCsms
from edge.sim.ocpp_fleet import OcppFleet, cp_configs
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf.loader import load_site
from tests.polling import wait_until

pytestmark = pytest.mark.peer

DEMO = load_site("config/demo.toml")
CP = "cabinet-1"  # bays B01 (connector 1) and B02 (connector 2)
PASSWORD = "s3cret-for-tests"
FAST = {"tick_s": 0.05, "meter_every_s": 0.2, "backoff_s": (0.05, 0.2), "response_timeout_s": 5.0}
START = {V16: "StartTransaction", V201: "TransactionEvent"}


def truck(tid: str) -> TruckSpec:
    now = SystemClock().wall()
    return TruckSpec(
        tid, SessionKind.BREAK, "CCS", now, now + 2700, 540_000.0, 0.2, 250_000.0, CCS_MAX_W
    )


class Rig:
    def __init__(self, csms: TestCsms, fleet: OcppFleet, plant: Plant) -> None:
        self.csms, self.fleet, self.plant = csms, fleet, plant
        self.cp = fleet[CP]

    @property
    def peer(self) -> Any:
        return self.csms.peers[CP]

    async def started(self, bay: str = "B01") -> str:
        """A truck on `bay`; waits for its transaction to be known on both sides."""
        self.plant.arrive(truck(f"T-{bay}"), bay)
        conn = self.cp.station.connectors[1 if bay == "B01" else 2]
        await wait_until(lambda: conn.session is not None and conn.session.tx_id, 10, "tx id")
        assert conn.session is not None
        assert conn.session.tx_id is not None
        return conn.session.tx_id


@pytest.fixture(params=[V16, V201])
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    version: str = request.param
    plant = Plant(
        DEMO.limits, DEMO.chargers, DEMO.bays, DEMO.timezone, SystemClock().wall(), Weather(pv_kw=0)
    )
    async with TestCsms({CP: PASSWORD, "cabinet-2": PASSWORD}, heartbeat_s=1) as csms:
        configs = [
            c for c in cp_configs(DEMO, {CP: version}, {CP: PASSWORD}, **FAST) if c.identity == CP
        ]
        fleet = OcppFleet(csms.url, plant, SystemClock(), configs, step_s=0.05)
        await fleet.start()
        try:
            await fleet.wait_online(10)
            yield Rig(csms, fleet, plant)
        finally:
            await fleet.stop()


def tx_default(version: str, limit_w: float, pid: int = 1) -> Any:
    if version == V16:
        return c16.SetChargingProfile(
            0,
            {
                "charging_profile_id": pid,
                "stack_level": 0,
                "charging_profile_purpose": "TxDefaultProfile",
                "charging_profile_kind": "Relative",
                "charging_schedule": {
                    "charging_rate_unit": "W",
                    "charging_schedule_period": [{"start_period": 0, "limit": limit_w}],
                },
            },
        )
    return c201.SetChargingProfile(0, _profile201(pid, "TxDefaultProfile", limit_w, None))


def tx_profile(version: str, connector: int, tx: str, limit_w: float) -> Any:
    if version == V16:
        return c16.SetChargingProfile(
            connector,
            {
                "charging_profile_id": 50,
                "stack_level": 1,
                "charging_profile_purpose": "TxProfile",
                "charging_profile_kind": "Relative",
                "transaction_id": int(tx),
                "charging_schedule": {
                    "charging_rate_unit": "W",
                    "charging_schedule_period": [{"start_period": 0, "limit": limit_w}],
                },
            },
        )
    return c201.SetChargingProfile(connector, _profile201(50, "TxProfile", limit_w, tx))


def _profile201(pid: int, purpose: str, limit_w: float, tx: str | None) -> dict[str, Any]:
    p: dict[str, Any] = {
        "id": pid,
        "stack_level": 1 if tx else 0,
        "charging_profile_purpose": purpose,
        "charging_profile_kind": "Relative",
        "charging_schedule": [
            {
                "id": pid,
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": limit_w}],
            }
        ],
    }
    if tx:
        p["transaction_id"] = tx
    return p


async def test_boot_then_a_status_per_connector_then_heartbeats(rig: Rig) -> None:
    await wait_until(lambda: rig.peer.actions("Heartbeat"), 10, "a heartbeat at the 1 s interval")
    actions = [a for a, _ in rig.peer.received]
    assert actions[0] == "BootNotification"
    boot = rig.peer.actions("BootNotification")[0]
    if rig.cp.config.version == V16:
        assert boot["chargePointVendor"] == "edge-sim"  # camelCase on the wire
        connectors = {s["connectorId"]: s["status"] for s in rig.peer.actions("StatusNotification")}
        assert connectors == {0: "Available", 1: "Available", 2: "Available"}
    else:
        assert boot["chargingStation"]["vendorName"] == "edge-sim"
        assert boot["reason"] == "PowerUp"
        evses = {s["evseId"]: s["connectorStatus"] for s in rig.peer.actions("StatusNotification")}
        assert evses == {1: "Available", 2: "Available"}


async def test_a_truck_gets_a_session_with_meter_values(rig: Rig) -> None:
    await rig.started("B01")
    version = rig.cp.config.version

    def readings() -> list[dict[str, Any]]:
        if version == V16:
            return [mv for m in rig.peer.actions("MeterValues") for mv in m["meterValue"]]
        return [
            mv
            for e in rig.peer.actions("TransactionEvent")
            if e["triggerReason"] == "MeterValuePeriodic"
            for mv in e["meterValue"]
        ]

    def energy(mv: dict[str, Any]) -> float:
        return float(
            next(
                s["value"]
                for s in mv["sampledValue"]
                if s["measurand"] == "Energy.Active.Import.Register"
            )
        )

    await wait_until(
        lambda: len(readings()) >= 3 and energy(readings()[-1]) > 0, 20, "meter values"
    )
    assert rig.peer.actions("Authorize")
    assert rig.peer.actions(START[version])
    last = readings()[-1]
    measurands = {s["measurand"] for s in last["sampledValue"]}
    assert measurands == {"Energy.Active.Import.Register", "Power.Active.Import", "SoC"}
    energies = [energy(mv) for mv in readings()]
    assert energies == sorted(energies)  # a register never goes back


async def test_a_profile_lowers_the_draw_and_a_tx_profile_beats_the_default(rig: Rig) -> None:
    version = rig.cp.config.version
    tx = await rig.started("B01")
    bay = rig.plant.bays["B01"]
    await wait_until(lambda: bay.draw_w > 150_000.0, 20, "the truck ramping up unlimited")
    reply = await rig.csms.call(CP, tx_default(version, 100_000.0))
    assert reply.status == "Accepted"
    await wait_until(lambda: 95_000.0 <= bay.draw_w <= 100_000.0, 20, "draw down to 100 kW")
    reply = await rig.csms.call(CP, tx_profile(version, 1, tx, 40_000.0))
    assert reply.status == "Accepted"
    await wait_until(lambda: 35_000.0 <= bay.draw_w <= 40_000.0, 20, "draw down to 40 kW")


async def test_a_charger_configured_to_reject_refuses_and_keeps_its_draw(rig: Rig) -> None:
    await rig.started("B01")
    rig.cp.faults.reject_profiles = True
    reply = await rig.csms.call(CP, tx_default(rig.cp.config.version, 10_000.0))
    assert reply.status == "Rejected"
    assert rig.cp.station.profiles == ()
    assert rig.plant.bays["B01"].limit_w == 400_000.0


async def test_ignored_profiles_are_accepted_and_never_applied(rig: Rig) -> None:
    await rig.started("B01")
    rig.cp.faults.ignore_profiles = True
    reply = await rig.csms.call(CP, tx_default(rig.cp.config.version, 10_000.0))
    assert reply.status == "Accepted"
    assert rig.plant.bays["B01"].limit_w == 400_000.0


async def test_a_dropped_connection_queues_transaction_messages_and_sends_them_on_return(
    rig: Rig,
) -> None:
    version = rig.cp.config.version
    tx = await rig.started("B01")
    rig.cp.disconnect(hold=True)
    await wait_until(lambda: not rig.cp.station.online, 10, "offline")
    await wait_until(lambda: len(rig.cp.station.outbox) >= 3, 10, "meter values queued offline")
    rig.plant.depart("B01")
    await wait_until(
        lambda: any(i.kind == "stop" for i in rig.cp.station.outbox), 10, "stop queued"
    )
    queued = [i.kind for i in rig.cp.station.outbox]
    rig.cp.reconnect()
    await wait_until(
        lambda: rig.csms.connections == 2 and not rig.cp.station.outbox, 20, "delivered"
    )
    after = rig.csms.peers[CP].received  # the new connection's peer
    actions = [a for a, _ in after]
    assert actions[0] == "BootNotification"
    if version == V16:
        stops = [p for a, p in after if a == "StopTransaction"]
        assert [s["transactionId"] for s in stops] == [int(tx)]
        assert stops[0]["reason"] == "EVDisconnected"
        assert actions.count("MeterValues") >= queued.count("meter")
    else:
        events = [p for a, p in after if a == "TransactionEvent"]
        assert [e["eventType"] for e in events][-1] == "Ended"
        assert all(e["offline"] for e in events[: len(queued)])
        assert all(e["transactionInfo"]["transactionId"] == tx for e in events)
        seqs = [e["seqNo"] for e in events]
        assert seqs == sorted(seqs)


async def test_when_the_csms_goes_the_charger_falls_back_to_its_default_profile(rig: Rig) -> None:
    version = rig.cp.config.version
    tx = await rig.started("B01")
    assert (await rig.csms.call(CP, tx_default(version, 120_000.0))).status == "Accepted"
    assert (await rig.csms.call(CP, tx_profile(version, 1, tx, 60_000.0))).status == "Accepted"
    bay = rig.plant.bays["B01"]
    await wait_until(lambda: bay.limit_w == 60_000.0, 10, "the TxProfile applied")
    await rig.csms.close()
    await wait_until(lambda: not rig.cp.station.online, 10, "offline")
    await wait_until(lambda: bay.limit_w == 120_000.0, 10, "the standing TxDefaultProfile")
    assert rig.plant.bays["B02"].limit_w == 0.0  # no session there: nothing given


async def test_composite_schedule_and_clearing_a_profile(rig: Rig) -> None:
    version = rig.cp.config.version
    await rig.started("B01")
    assert (await rig.csms.call(CP, tx_default(version, 80_000.0, pid=7))).status == "Accepted"
    if version == V16:
        got = await rig.csms.call(CP, c16.GetCompositeSchedule(1, 60))
        periods = got.charging_schedule["charging_schedule_period"]
        cleared = await rig.csms.call(CP, c16.ClearChargingProfile(id=7))
        unknown = await rig.csms.call(CP, c16.ClearChargingProfile(id=7))
    else:
        got = await rig.csms.call(CP, c201.GetCompositeSchedule(60, 1))
        periods = got.schedule["charging_schedule_period"]
        cleared = await rig.csms.call(CP, c201.ClearChargingProfile(charging_profile_id=7))
        unknown = await rig.csms.call(CP, c201.ClearChargingProfile(charging_profile_id=7))
    assert periods == [{"start_period": 0, "limit": 80_000.0}]
    assert (cleared.status, unknown.status) == ("Accepted", "Unknown")
    await wait_until(lambda: rig.plant.bays["B01"].limit_w == 400_000.0, 10, "back to the maximum")


async def test_remote_stop_reset_and_unlock_are_answered(rig: Rig) -> None:
    version = rig.cp.config.version
    tx = await rig.started("B01")
    if version == V16:
        assert (await rig.csms.call(CP, c16.RemoteStopTransaction(int(tx)))).status == "Accepted"
        assert (await rig.csms.call(CP, c16.UnlockConnector(1))).status == "Unlocked"
        assert (await rig.csms.call(CP, c16.Reset("Soft"))).status == "Accepted"
    else:
        assert (await rig.csms.call(CP, c201.RequestStopTransaction(tx))).status == "Accepted"
        assert (await rig.csms.call(CP, c201.UnlockConnector(1, 1))).status == "Unlocked"
        assert (await rig.csms.call(CP, c201.Reset("Immediate"))).status == "Accepted"
    assert rig.cp.station.connectors[1].session is None
    assert rig.plant.bays["B01"].limit_w == 0.0
    await wait_until(lambda: rig.cp.connects == 2, 10, "booted again after the reset")


async def test_a_wrong_password_is_refused_at_the_handshake() -> None:
    plant = Plant(
        DEMO.limits, DEMO.chargers, DEMO.bays, DEMO.timezone, SystemClock().wall(), Weather(pv_kw=0)
    )
    async with TestCsms({CP: PASSWORD}) as csms:
        configs = [c for c in cp_configs(DEMO, passwords={CP: "wrong"}, **FAST) if c.identity == CP]
        fleet = OcppFleet(csms.url, plant, SystemClock(), configs)
        await fleet.start()
        try:
            with pytest.raises(TimeoutError):
                await fleet.wait_online(1.0)
            assert csms.connections == 0
        finally:
            await fleet.stop()


async def test_fault_hooks_slow_replies_malformed_frames_and_a_flood(rig: Rig) -> None:
    """The faults the edge's endpoint is tested with: each does what it says, and the
    charge point still works afterwards."""
    version = rig.cp.config.version
    rig.cp.faults.reply_delay_s = 1.0
    rig.peer.cp._response_timeout = 0.2  # the CSMS gives up before the late reply
    with pytest.raises(TimeoutError):
        await rig.csms.call(CP, tx_default(version, 100_000.0))
    rig.cp.faults.reply_delay_s = 0.0
    rig.peer.cp._response_timeout = 5
    await rig.cp.send_raw("this is no OCPP frame")
    await wait_until(lambda: rig.peer.raw_errors == 1, 10, "the malformed frame arrived")
    beats = len(rig.peer.actions("Heartbeat"))
    await rig.cp.flood(50)
    await wait_until(lambda: len(rig.peer.actions("Heartbeat")) >= beats + 50, 10, "the flood")
    reply = await rig.csms.call(CP, tx_default(version, 90_000.0, pid=2))
    assert reply.status == "Accepted"
    assert rig.cp.station.online
    assert rig.cp.connects == 1


async def test_a_mixed_fleet_connects_and_stop_leaves_no_task_behind() -> None:
    plant = Plant(
        DEMO.limits, DEMO.chargers, DEMO.bays, DEMO.timezone, SystemClock().wall(), Weather(pv_kw=0)
    )
    before = asyncio.all_tasks()
    async with TestCsms() as csms:
        configs = cp_configs(DEMO, {"cabinet-2": V201}, **FAST)
        fleet = OcppFleet(csms.url, plant, SystemClock(), configs, step_s=0.05)
        await fleet.start()
        try:
            await fleet.wait_online(10)
            assert {i: p.version for i, p in csms.peers.items()} == {
                "cabinet-1": V16,
                "cabinet-2": V201,
            }
            assert fleet["cabinet-2"].station.connectors.keys() == {1, 2}
        finally:
            await fleet.stop()
    assert asyncio.all_tasks() - before == set()


def set_interval(version: str, seconds: int) -> Any:
    if version == V16:
        return c16.ChangeConfiguration("MeterValueSampleInterval", str(seconds))
    return c201.SetVariables(
        [
            {
                "attribute_value": str(seconds),
                "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedInterval"},
            }
        ]
    )


def status_of(version: str, reply: Any) -> str:
    return str(reply.status if version == V16 else reply.set_variable_result[0]["attribute_status"])


async def test_the_meter_value_interval_is_changed_over_ocpp_and_applies_at_once(rig: Rig) -> None:
    """What the edge sends after every boot (docs/ocpp.md): honoured, not refused."""
    version = rig.cp.config.version
    periodic = "MeterValues" if version == V16 else "TransactionEvent"

    def readings() -> int:
        events = rig.peer.actions(periodic)
        return sum(
            1 for e in events if version == V16 or e["triggerReason"] == "MeterValuePeriodic"
        )

    assert status_of(version, await rig.csms.call(CP, set_interval(version, 3600))) == "Accepted"
    await rig.started("B01")
    bay = rig.plant.bays["B01"]  # the ramp takes many of the configured 0.2 s intervals
    await wait_until(lambda: bay.draw_w > 100_000.0, 20, "the truck ramping up")
    assert readings() == 0
    assert status_of(version, await rig.csms.call(CP, set_interval(version, 1))) == "Accepted"
    await wait_until(lambda: readings() >= 2, 20, "meter values at the new interval")


async def test_configuration_is_read_and_unknown_or_read_only_keys_refused(rig: Rig) -> None:
    version = rig.cp.config.version
    if version == V16:
        unknown = await rig.csms.call(CP, c16.ChangeConfiguration("NoSuchKey", "1"))
        ping = await rig.csms.call(CP, c16.ChangeConfiguration("WebSocketPingInterval", "5"))
        ro = await rig.csms.call(CP, c16.ChangeConfiguration("NumberOfConnectors", "9"))
        assert (unknown.status, ping.status, ro.status) == (
            "NotSupported",
            "RebootRequired",
            "Rejected",
        )
        got = await rig.csms.call(CP, c16.GetConfiguration(["HeartbeatInterval", "Nope"]))
        assert got.configuration_key == [
            {"key": "HeartbeatInterval", "readonly": False, "value": "1"}
        ]
        assert got.unknown_key == ["Nope"]  # 1 s: the interval the CSMS's boot reply gave
        return
    data = [
        {"attribute_value": "5", "component": {"name": c}, "variable": {"name": v}}
        for c, v in (
            ("NoCtrlr", "X"),
            ("OCPPCommCtrlr", "Nope"),
            ("OCPPCommCtrlr", "WebSocketPingInterval"),
            ("SmartChargingCtrlr", "RateUnit"),
        )
    ]
    answer = await rig.csms.call(CP, c201.SetVariables(data))
    statuses = [r["attribute_status"] for r in answer.set_variable_result]
    assert statuses == ["UnknownComponent", "UnknownVariable", "RebootRequired", "Rejected"]
    got = await rig.csms.call(
        CP,
        c201.GetVariables(
            [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
        ),
    )
    assert got.get_variable_result[0]["attribute_status"] == "Accepted"
    assert got.get_variable_result[0]["attribute_value"] == "1"
