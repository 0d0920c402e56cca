"""The whole daemon with an OCPP link, and a 1.6J charge point built with the `ocpp` package
on loopback: the standing profiles at boot, a session's TxProfile from the control cycle,
the charge point in `devices` and `chargers`, an audited reset, and a clean stop that
leaves the charger its fallback profile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from ocpp.v16 import call as call16

from edge.local_api.client import ApiError, LocalApiClient
from edge.runtime import Daemon
from edge.store import audit_rows
from tests.ocpp_peers import Record, charge_point, ocpp_daemon
from tests.polling import wait_until

pytestmark = pytest.mark.hil


def _purposes(rec: Record, connector: int) -> list[str]:
    return [p["charging_profile_purpose"] for p in rec.profiles if p["connector"] == connector]


async def _api(path: Path, method: str, params: dict[str, Any] | None = None) -> Any:
    return await asyncio.to_thread(lambda: LocalApiClient(path).call(method, params))


async def test_daemon_drives_an_ocpp_charge_point(tmp_path: Path) -> None:
    rec = Record()
    async with (
        ocpp_daemon(tmp_path) as (daemon, port),
        charge_point(port, "CP16", "1.6", rec) as cp,
    ):
        await wait_until(
            lambda: _purposes(rec, 0) == ["ChargePointMaxProfile", "TxDefaultProfile"],
            10,
            "standing",
        )
        await cp.call(call16.StatusNotification(1, "NoError", "Preparing"), suppress=False)
        started = await cp.call(
            call16.StartTransaction(1, "TAG", 0, "2026-11-30T10:00:00Z"), suppress=False
        )
        await cp.call(call16.StatusNotification(1, "NoError", "Charging"), suppress=False)
        mv = [
            {
                "timestamp": "2026-11-30T10:00:05Z",
                "sampledValue": [{"value": "20", "measurand": "Power.Active.Import", "unit": "kW"}],
            }
        ]
        await cp.call(call16.MeterValues(1, mv, started.transaction_id), suppress=False)
        await wait_until(lambda: "TxProfile" in _purposes(rec, 1), 15, "a TxProfile from the cycle")
        tx = next(p for p in rec.profiles if p["charging_profile_purpose"] == "TxProfile")
        assert tx["transaction_id"] == started.transaction_id
        assert tx["stack_level"] == 1
        assert "valid_to" in tx  # it lapses by itself when the edge goes quiet

        devices = await _api(tmp_path / "edge.sock", "devices")
        row = next(d for d in devices["devices"] if d["device"] == "CP16")
        assert (row["protocol"], row["connected"], row["state"]) == ("ocpp", True, "ok")
        chargers = await _api(tmp_path / "edge.sock", "chargers")
        ch16 = next(c for c in chargers["chargers"] if c["charger"] == "ch16")
        assert (ch16["ocpp_version"], ch16["vendor"], ch16["standing_profile"]) == (
            "1.6",
            "Alpi",
            True,
        )

        done = await _api(
            tmp_path / "edge.sock",
            "charger-reset",
            {"charger": "ch16", "connector": 0, "reason": "hung display"},
        )
        assert done["outcome"] == "accepted"
        assert rec.resets == ["Soft"]
        assert "charger-reset" in await _audit_kinds(daemon)
        for bad in ({"charger": "ch16", "connector": 1}, {"charger": "nope", "reason": "x"}):
            with pytest.raises(ApiError):
                await _api(tmp_path / "edge.sock", "charger-unlock", bad)
    standing = [p for p in rec.profiles if p["charging_profile_id"] == 2]
    assert standing
    assert standing[0]["charging_schedule"]["charging_schedule_period"][0]["limit"] == 100_000.0


async def _audit_kinds(daemon: Daemon) -> list[str]:
    """The command is recorded before the API answers: one read sees it."""
    return [e.kind for e in await audit_rows.read(daemon.availability.store)]
