"""The OCPP endpoint against charge points built with the `ocpp` package over loopback,
1.6J and 2.0.1: handshake checks, boot, status, transactions, meter values, profiles."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from websockets.exceptions import InvalidStatus

from edge.chargers.port import Outcome
from edge.chargers.site_port import SitePort
from edge.ocpp.hooks import AuthDecision
from edge.sessions import BayState
from tests.ocpp_peers import PASSWORD, Record, charge_point, endpoint, url
from tests.polling import wait_until


def _snapshot(site) -> object:  # type: ignore[no-untyped-def]
    clock = site.clock
    return site.writer.image.freeze(clock.monotonic(), clock.wall())


async def test_boot_installs_the_standing_profiles_v16(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec):
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        st = site.stations["CP16"]
        assert (st.version, st.vendor, st.model, st.firmware) == ("1.6", "Alpi", "HYC", "1.2")
        purposes = [
            (p["connector"], p["charging_profile_purpose"], p["stack_level"]) for p in rec.profiles
        ]
        assert purposes == [(0, "ChargePointMaxProfile", 0), (0, "TxDefaultProfile", 0)]
        limits = [
            p["charging_schedule"]["charging_schedule_period"][0]["limit"] for p in rec.profiles
        ]
        assert limits == [400000.0, 100000.0]  # max_power_kw, then fallback_kw
        assert "valid_to" in rec.profiles[1]
        assert rec.settings == [("MeterValueSampleInterval", "10")]


async def test_session_status_and_meter_values_v16(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec) as cp:
        port = SitePort(site.backends())
        await cp.call(call16.StatusNotification(2, "NoError", "Preparing"), suppress=False)
        started = await cp.call(
            call16.StartTransaction(2, "TAG1", 1_000, "2026-11-30T10:00:00Z"), suppress=False
        )
        assert started.id_tag_info["status"] == "Accepted"
        await cp.call(call16.StatusNotification(2, "NoError", "Charging"), suppress=False)
        sampled = [
            {"value": "150.5", "measurand": "Power.Active.Import", "unit": "kW"},
            {"value": "21000", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "40", "measurand": "Power.Active.Import", "unit": "kW", "phase": "L1"},
        ]
        mv = [{"timestamp": "2026-11-30T10:05:00Z", "sampledValue": sampled}]
        await cp.call(call16.MeterValues(2, mv, started.transaction_id), suppress=False)
        b2 = next(s for s in port.states(_snapshot(site)) if s.bay == "B2")
        assert (b2.state, b2.power_w, b2.energy_delivered_wh, b2.raw) == (
            BayState.CHARGING,
            150_500.0,
            20_000.0,
            "Charging",
        )
        result = await port.apply({"B2": 120_000.0})
        assert result.of("B2").outcome is Outcome.CONFIRMED
        tx = rec.profiles[-1]
        assert tx["charging_profile_purpose"] == "TxProfile"
        assert tx["transaction_id"] == started.transaction_id
        assert tx["connector"] == 2
        assert tx["charging_schedule"]["charging_schedule_period"][0]["limit"] == 120000.0
        await cp.call(
            call16.StopTransaction(25_000, "2026-11-30T10:30:00Z", started.transaction_id),
            suppress=False,
        )
        await cp.call(call16.StatusNotification(2, "NoError", "Available"), suppress=False)
        b2 = next(s for s in port.states(_snapshot(site)) if s.bay == "B2")
        assert (b2.state, b2.power_w) == (BayState.AVAILABLE, 0.0)
        assert site.stations["CP16"].transactions == {}


async def test_limit_change_threshold_and_rejection_v16(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec):
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        port = SitePort(site.backends())
        first = await port.apply({"B1": 50_000.0})
        assert first.of("B1").outcome is Outcome.CONFIRMED
        sent = len(rec.profiles)
        assert rec.profiles[-1]["charging_profile_purpose"] == "TxDefaultProfile"
        assert rec.profiles[-1]["connector"] == 1
        assert rec.profiles[-1]["stack_level"] == 1
        same = await port.apply({"B1": 50_400.0})  # within the 1 kW threshold: nothing sent
        assert same.of("B1").outcome is Outcome.CONFIRMED
        assert len(rec.profiles) == sent
        lower = await port.apply({"B1": 30_000.0})  # a decrease goes at once
        assert lower.of("B1").outcome is Outcome.CONFIRMED
        assert len(rec.profiles) == sent + 1
        rec.answer = "Rejected"
        refused = await port.apply({"B1": 10_000.0})
        assert refused.of("B1").outcome is Outcome.FAILED
        assert "SetChargingProfile: Rejected" in refused.of("B1").reason
        rec.answer = "error"
        broken = await port.apply({"B1": 5_000.0})
        assert broken.of("B1").outcome is Outcome.FAILED
        assert "CALLERROR InternalError" in broken.of("B1").reason
        assert site.stations["CP16"].profiles_rejected == 2


async def test_v201_boot_status_transaction_and_profile(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", rec) as cp:
        await wait_until(lambda: site.stations["CP201"].standing_ok, 10, "standing profiles")
        assert rec.profiles[0]["charging_profile_purpose"] == "ChargingStationMaxProfile"
        assert rec.settings == [("TxUpdatedInterval", "10")]
        assert site.stations["CP201"].errors_out == 0
        port = SitePort(site.backends())
        await cp.call(
            call201.StatusNotification("2026-11-30T10:00:00Z", "Occupied", 1, 1), suppress=False
        )
        b3 = next(s for s in port.states(_snapshot(site)) if s.bay == "B3")
        assert b3.state is BayState.OCCUPIED
        info = {"transaction_id": "tx-9", "charging_state": "Charging"}
        sampled = [
            {
                "value": 80.0,
                "measurand": "Power.Active.Import",
                "unitOfMeasure": {"unit": "W", "multiplier": 3},
            }
        ]
        await cp.call(call201.TransactionEvent(
            "Started", "2026-11-30T10:00:01Z", "CablePluggedIn", 0, info,
            evse={"id": 1, "connector_id": 1}, id_token={"id_token": "TAG", "type": "ISO14443"},
            meter_value=[{"timestamp": "2026-11-30T10:00:01Z", "sampledValue": sampled}],
        ), suppress=False)  # fmt: skip
        b3 = next(s for s in port.states(_snapshot(site)) if s.bay == "B3")
        assert (b3.state, b3.power_w, b3.raw) == (BayState.CHARGING, 80_000.0, "Charging")
        result = await port.apply({"B3": 200_000.0})
        assert result.of("B3").outcome is Outcome.CONFIRMED
        assert rec.profiles[-1]["charging_profile_purpose"] == "TxProfile"
        assert rec.profiles[-1]["transaction_id"] == "tx-9"
        ended = {"transaction_id": "tx-9", "stopped_reason": "EVDisconnected"}
        await cp.call(
            call201.TransactionEvent("Ended", "2026-11-30T11:00:00Z", "EVDeparted", 1, ended),
            suppress=False,
        )
        await cp.call(
            call201.StatusNotification("2026-11-30T11:00:01Z", "Available", 1, 1), suppress=False
        )
        b3 = next(s for s in port.states(_snapshot(site)) if s.bay == "B3")
        assert b3.state is BayState.AVAILABLE
        assert site.stations["CP201"].transactions == {}


@pytest.mark.parametrize(
    ("identity", "user", "password", "status"),
    [
        ("CP16", "CP16", "wrong-password-123456", 401),
        ("CP16", "CP201", PASSWORD, 401),  # another identity's user
        ("NOPE", "NOPE", PASSWORD, 404),
    ],
)
async def test_handshake_refusals(
    tmp_path: Path, identity: str, user: str, password: str, status: int
) -> None:
    async with endpoint(tmp_path) as site:
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(url(site, identity, password, user), subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        assert refused.value.response.status_code == status
        assert site.endpoints[0].gate.refused == 1
        rows = {r["device"]: r for r in site.health(site.clock.monotonic())}
        assert rows["CP16"]["failures"] == (1 if status == 401 else 0)


async def test_no_credentials_refused(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as site:
        plain = f"ws://127.0.0.1:{site.port()}/ocpp/CP16"
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(plain, subprotocols=["ocpp1.6"])  # type: ignore[list-item]
        assert refused.value.response.status_code == 401
        token = base64.b64encode(f"CP16:{PASSWORD}".encode()).decode()
        ws = await websockets.connect(
            plain,
            subprotocols=["ocpp1.6"],
            additional_headers={"Authorization": f"Basic {token}"},  # type: ignore[list-item]
        )
        await ws.close()


async def test_disconnect_and_return(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site:
        port = SitePort(site.backends())
        async with charge_point(site, "CP16", "1.6", rec) as cp:
            await cp.call(call16.StatusNotification(1, "NoError", "Charging"), suppress=False)
            assert (await port.apply({"B1": 60_000.0})).of("B1").outcome is Outcome.CONFIRMED
        await wait_until(lambda: not site.stations["CP16"].connected, 10, "disconnect seen")
        gone = await port.apply({"B1": 60_000.0})
        assert gone.of("B1").outcome is Outcome.FAILED
        assert "not connected" in gone.of("B1").reason
        row = next(r for r in site.health(site.clock.monotonic()) if r["device"] == "CP16")
        assert (row["state"], row["connected"]) == ("disconnected", False)
        before = len(rec.profiles)
        async with charge_point(site, "CP16", "1.6", rec):
            # after its boot: the standing profiles, then its last limit, unasked by the cycle
            await wait_until(lambda: len(rec.profiles) == before + 3, 10, "limits sent again")
            again = rec.profiles[-1]
            assert again["connector"] == 1
            assert again["charging_schedule"]["charging_schedule_period"][0]["limit"] == 60000.0
            back = await port.apply({"B1": 60_000.0})  # accepted: within the threshold
            assert back.of("B1").outcome is Outcome.CONFIRMED
            assert len(rec.profiles) == before + 3
        await asyncio.sleep(0)


async def test_a_steady_setpoint_is_refreshed_before_its_profile_lapses(tmp_path: Path) -> None:
    rec = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec) as cp:
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        backend = next(b for b in site.backends() if b.charger == "ch16")
        assert (await backend.apply({"B1": 50_000.0})).of("B1").outcome is Outcome.CONFIRMED
        sent = len(rec.profiles)
        assert await backend.refresh() == 0  # fresh: nothing to do
        st = site.stations["CP16"]
        st.sent[1] = replace(st.sent[1], valid_to=site.clock.wall() + 5.0)  # past half of 60 s
        assert await backend.refresh() == 1
        again = rec.profiles[-1]
        assert len(rec.profiles) == sent + 1
        assert again["charging_schedule"]["charging_schedule_period"][0]["limit"] == 50000.0
        started = await cp.call(
            call16.StartTransaction(1, "T", 0, "2026-11-30T10:00:00Z"), suppress=False
        )
        assert await backend.refresh() == 1  # the session took over the bay: its TxProfile
        assert rec.profiles[-1]["transaction_id"] == started.transaction_id


class _Refuse:
    """An authorization port that knows one token."""

    async def authorize(self, id_token: str, bay: str | None) -> AuthDecision:
        ok = id_token == "GOOD"
        return AuthDecision(ok, "Accepted" if ok else "Invalid", "test")


class _Sessions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def started(
        self, bay: str, tx: str, id_token: str, meter_start_wh: float | None, at: float
    ) -> None:
        self.calls.append(("started", bay, tx, id_token, str(meter_start_wh)))

    def meter_values(self, bay: str, tx: str | None, raw: list[dict[str, Any]], at: float) -> None:
        self.calls.append(("meter_values", bay, str(tx), raw[0]["sampled_value"][0]["value"]))

    def ended(self, bay: str, tx: str, meter_stop_wh: float | None, reason: str, at: float) -> None:
        self.calls.append(("ended", bay, tx, str(meter_stop_wh), reason))


async def test_authorization_and_session_call_sites(tmp_path: Path) -> None:
    sessions = _Sessions()
    async with (
        endpoint(tmp_path, auth=_Refuse(), sessions=sessions) as site,
        charge_point(site, "CP16", "1.6", Record()) as cp,
    ):
        bad = await cp.call(call16.Authorize("BAD"), suppress=False)
        assert bad.id_tag_info["status"] == "Invalid"
        good = await cp.call(
            call16.StartTransaction(1, "GOOD", 500, "2026-11-30T10:00:00Z"), suppress=False
        )
        assert good.id_tag_info["status"] == "Accepted"
        tx = good.transaction_id
        mv = [
            {
                "timestamp": "2026-11-30T10:01:00Z",
                "sampledValue": [{"value": "900", "format": "SignedData"}],
            }
        ]
        await cp.call(call16.MeterValues(1, mv, tx), suppress=False)
        await cp.call(
            call16.StopTransaction(1500, "2026-11-30T10:30:00Z", tx, reason="EVDisconnected"),
            suppress=False,
        )
        assert sessions.calls == [
            ("started", "B1", str(tx), "GOOD", "500.0"),
            ("meter_values", "B1", str(tx), "900"),
            ("ended", "B1", str(tx), "1500.0", "EVDisconnected"),
        ]
