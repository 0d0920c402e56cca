"""`edge probe`, `edge profiles` and the `edge devices` page, through the CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli.device_commands import devices_page
from edge.cli.main import main
from edge.drivers.catalog import shipped_catalog
from edge.sim.sim_unit import SimUnit, StaticModel
from edge.sim.sunspec_sim import SunSpecSimUnit
from tests.peers import sim_in_thread


def test_profiles_lists_and_validates_every_shipped_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["profiles", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["errors"] == []
    assert {p["id"] for p in data["profiles"]} >= {"eastron-sdm630", "sunspec-inverter"}


def test_profiles_fails_naming_the_bad_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.toml").write_text('id = "x"\nkind = "meter"\n[points.p]\naddress = 0\n')
    assert main(["profiles", "--dir", str(tmp_path)]) == 1
    assert "error: bad.toml: points.p.table: missing (required)" in capsys.readouterr().err


def test_probe_reads_and_decodes_a_meter_with_its_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    profile = shipped_catalog()["eastron-sdm630"]
    unit = SimUnit(7, profile, StaticModel({"power_w": 12_345.0, "voltage_l1_v": 231.0}))  # type: ignore[arg-type]
    with sim_in_thread([unit]) as port:
        code = main(
            [
                "probe",
                f"modbus-tcp://127.0.0.1:{port}",
                "--unit",
                "7",
                "--profile",
                "eastron-sdm630",
                "--json",
            ]
        )
    assert code == 0
    points = {p["point"]: p for p in json.loads(capsys.readouterr().out)["points"]}
    assert points["power_w"]["value"] == 12_345.0
    assert points["voltage_l1_v"]["value"] == 231.0
    assert points["power_w"]["ref"].startswith("30053")


def test_probe_without_a_profile_walks_the_sunspec_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with sim_in_thread([SunSpecSimUnit(1, lambda wall: 5000.0, 10_000.0)]) as port:
        assert main(["probe", f"modbus-tcp://127.0.0.1:{port}"]) == 0
    out = capsys.readouterr().out
    for model in ("model 1 at 40002", "model 701", "model 702", "model 704"):
        assert model in out
    assert "Mn = edge-hub" in out


def test_probe_reports_an_unreachable_device_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["probe", "modbus-tcp://127.0.0.1:1", "--timeout", "0.2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("edge probe modbus-tcp://127.0.0.1:1: unit 1:")
    assert main(["probe", "http://example.invalid"]) == 1


def test_devices_page_shows_values_with_age_errors_and_line_use() -> None:
    page = devices_page(
        {
            "devices": [
                {
                    "device": "grid",
                    "profile": "eastron-sdm630",
                    "link": "rs485-1",
                    "unit": 1,
                    "state": "comm_lost",
                    "last_ok_age_s": 4.2,
                    "polls": 10,
                    "failures": 3,
                    "timeouts": 3,
                    "invalid_values": 0,
                    "writes": 0,
                    "write_failures": 0,
                    "last_error": "no reply within 0.5s (unit 1)",
                    "values": {"power_w": [12000.0, "W", "comm_lost", 4.2]},
                }
            ],
            "links": [
                {
                    "link": "rs485-1",
                    "endpoint": "/dev/ttyUSB0@9600",
                    "line": "9600 baud 8E1",
                    "connected": True,
                    "requests": 42,
                    "reconnects": 0,
                    "utilisation": 0.31,
                    "planned_utilisation": 0.45,
                }
            ],
        }
    )
    assert "power_w 12000 W (comm_lost, 4.2s)" in page
    assert "last error: no reply within 0.5s (unit 1)" in page
    assert "9600 baud 8E1" in page
    assert "45%" in page
