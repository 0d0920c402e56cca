"""Amps-only charge points: the unit their profiles go in (the site file's, else the one
they report at boot), and W -> A rounded down at the highest DC voltage, so the power a
charger may draw never exceeds the watts asked for."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from edge.chargers.port import Outcome
from edge.chargers.site_port import SitePort
from edge.ocpp.rate_unit import Rate, Unit, reported_unit, schedule_limit
from edge.ocpp.report import charger_rows
from edge.siteconf import load_site
from edge.siteconf.issues import ConfigError
from tests.ocpp_peers import Record, charge_point, endpoint, write_site
from tests.polling import wait_until


def test_watts_pass_through() -> None:
    assert schedule_limit(70_000.04, Rate()) == ("W", 70_000.0)


@pytest.mark.parametrize(
    ("limit_w", "volts", "amps"),
    [
        (100_000.0, 1000.0, 100.0),
        (70_001.0, 1250.0, 56.0),
        (69_999.0, 1000.0, 69.9),
        (0.0, 920.0, 0.0),
    ],
)
def test_amps_are_rounded_down_to_a_tenth(limit_w: float, volts: float, amps: float) -> None:
    assert schedule_limit(limit_w, Rate(Unit.A, volts)) == ("A", amps)


def test_amps_never_draw_more_than_the_watts_asked() -> None:
    for volts in (400.0, 800.0, 920.0, 1000.0, 1250.0):
        for step in range(2000):
            limit_w = step * 173.3
            unit, amps = schedule_limit(limit_w, Rate(Unit.A, volts))
            assert unit == "A"
            assert amps * volts <= limit_w + 1e-6, (limit_w, volts, amps)
            assert amps == round(amps, 1)  # OCPP: one digit after the point
            assert limit_w - amps * volts < 0.1 * volts + 1e-6  # and no more than 0.1 A short


@pytest.mark.parametrize(
    ("value", "unit"),
    [("Current", Unit.A), ("Power", Unit.W), ("Current,Power", Unit.W), ("A", Unit.A),
     ("A,W", Unit.W), (" W ", Unit.W), ("", None), ("Amps", None)],
)  # fmt: skip
def test_the_reported_unit(value: str, unit: Unit | None) -> None:
    assert reported_unit(value) is unit


async def test_a_v16_charger_that_takes_only_current_gets_amps(tmp_path: Path) -> None:
    rec = Record(rate_unit="Current")
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec):
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        assert rec.asked == ["ChargingScheduleAllowedChargingRateUnit"]
        cabinet, standing = rec.profiles[0], rec.profiles[1]
        # CCS bays, no voltage in the site file: 1000 V; 400 kW cabinet, 100 kW fallback
        assert cabinet["charging_schedule"]["charging_rate_unit"] == "A"
        assert cabinet["charging_schedule"]["charging_schedule_period"][0]["limit"] == 400.0
        assert standing["charging_schedule"]["charging_schedule_period"][0]["limit"] == 100.0
        result = await SitePort(site.backends()).apply({"B1": 70_050.0})
        assert result.of("B1").outcome is Outcome.CONFIRMED
        schedule = rec.profiles[-1]["charging_schedule"]
        assert schedule["charging_rate_unit"] == "A"
        assert schedule["charging_schedule_period"][0]["limit"] == 70.0
        row = next(r for r in charger_rows(site, 0.0) if r["identity"] == "CP16")
        assert row["rate_unit"] == "A"  # `edge chargers --json`


@pytest.mark.parametrize(
    ("reported", "unit", "limit"), [("A,W", "W", 123_456.0), ("A", "A", 123.4)]
)
async def test_a_v201_station_gets_watts_when_it_allows_them_else_amps(
    tmp_path: Path, reported: str, unit: str, limit: float
) -> None:
    rec = Record(rate_unit=reported)
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", rec):
        await wait_until(lambda: site.stations["CP201"].standing_ok, 10, "standing profiles")
        assert rec.asked == ["RateUnit"]
        result = await SitePort(site.backends()).apply({"B3": 123_456.0})
        assert result.of("B3").outcome is Outcome.CONFIRMED
        schedule = rec.profiles[-1]["charging_schedule"][0]
        assert (
            schedule["charging_rate_unit"],
            schedule["charging_schedule_period"][0]["limit"],
        ) == (
            unit,
            limit,
        )


async def test_a_charger_that_does_not_say_keeps_watts(tmp_path: Path) -> None:
    rec = Record()  # answers the key as unknown
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", rec):
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        assert rec.asked == ["ChargingScheduleAllowedChargingRateUnit"]
        assert rec.profiles[0]["charging_schedule"]["charging_rate_unit"] == "W"


async def test_the_site_file_unit_and_voltage_win_and_nothing_is_asked(tmp_path: Path) -> None:
    rec = Record(rate_unit="Power")  # what it would say if asked
    cp16 = 'rate_unit = "A"\nmax_voltage_v = 800'
    async with endpoint(tmp_path, cp16=cp16) as site, charge_point(site, "CP16", "1.6", rec):
        await wait_until(lambda: site.stations["CP16"].standing_ok, 10, "standing profiles")
        assert rec.asked == []
        await SitePort(site.backends()).apply({"B1": 70_000.0})
        period = rec.profiles[-1]["charging_schedule"]["charging_schedule_period"][0]
        assert rec.profiles[-1]["charging_schedule"]["charging_rate_unit"] == "A"
        assert period["limit"] == math.floor(70_000.0 / 800 * 10) / 10  # 87.5 A


def test_the_unit_in_the_site_file(tmp_path: Path) -> None:
    config = load_site(write_site(tmp_path, cp16='rate_unit = "A"\nmax_voltage_v = 920'))
    device = next(d for d in config.devices if d.id == "CP16")
    assert (device.rate_unit, device.max_voltage_v) == ("A", 920.0)
    with pytest.raises(ConfigError, match="rate_unit"):
        load_site(write_site(tmp_path, cp16='rate_unit = "kW"'))
