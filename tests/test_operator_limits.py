"""Operator limits (`edge limit set/clear`) and the `edge bays` / `edge power` pages."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from edge.cli.power_commands import bays_page, power_page
from edge.operator_limits import OperatorLimits, command
from edge.power.budget import LimitOverride
from edge.siteconf import load_site
from edge.uplink.commands import Command, CommandRegistry, load_schema, parse

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
NOW = 1_800_000_000.0


async def test_a_limit_holds_until_its_time_then_lapses_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge.operator_limits")
    limits = OperatorLimits(load_site(DEMO))
    await limits.set("grid", 300, NOW + 60, "grid operator call", "alice", NOW)
    assert limits.overrides(NOW + 59) == (LimitOverride("grid", 300_000.0),)
    assert limits.overrides(NOW + 60) == ()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("limit_set node=grid kw=300") and "by=alice" in m for m in messages)
    assert any(m.startswith("limit_lapsed node=grid") for m in messages)


@pytest.mark.parametrize(
    ("node", "kw", "until", "reason", "says"),
    [
        ("nope", 1.0, NOW + 60, "x", "not a limit node"),
        ("grid", -1.0, NOW + 60, "x", "not a power"),
        ("grid", float("nan"), NOW + 60, "x", "not a power"),
        ("grid", 1.0, NOW - 1, "x", "not in the future"),
        ("grid", 1.0, NOW + 60, " ", "reason: required"),
        ("grid", 1.0, NOW + 60, "a\nb", "control characters"),
    ],
)
async def test_bad_limits_are_refused_naming_what(
    node: str, kw: float, until: float, reason: str, says: str
) -> None:
    limits = OperatorLimits(load_site(DEMO))
    with pytest.raises(ValueError, match=says):
        await limits.set(node, kw, until, reason, "bob", NOW)
    assert limits.overrides(NOW) == ()


def test_the_bays_page_shows_the_trucks_state_of_charge_where_reported() -> None:
    base = {
        "state": "charging",
        "kind": "break",
        "power_w": 200_000.0,
        "setpoint_w": 200_000.0,
        "binding": "limit:grid",
        "energy_delivered_wh": 50_000.0,
        "energy_wanted_wh": 270_000.0,
        "departure": None,
        "departure_from": None,
        "slack_s": 600.0,
    }
    bays = [{**base, "id": "B01", "soc_pct": 63.4}, {**base, "id": "B02", "soc_pct": None}]
    lines = bays_page({"bays": bays, "timezone": "Europe/Brussels"}).splitlines()
    assert lines[0].split()[-4:] == ["DONE/WANTED", "SOC", "LEAVES", "SLACK"]
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("B0")}
    after_energy = {bay: row[row.index("50/270") + 1] for bay, row in rows.items()}
    assert after_energy == {"B01": "63", "B02": "-"}
    assert rows["B01"][rows["B01"].index("63") + 1] == "%"


def test_pages_render_unknown_values_as_dashes() -> None:
    bay = {
        "id": "B01",
        "state": None,
        "kind": None,
        "power_w": None,
        "setpoint_w": None,
        "binding": "bay:B01",
        "energy_delivered_wh": None,
        "energy_wanted_wh": None,
        "departure": None,
        "departure_from": None,
        "slack_s": None,
    }
    page = bays_page({"bays": [bay], "timezone": "Europe/Brussels"})
    assert "B01" in page
    assert "bay:B01" in page
    node = {
        "id": "grid",
        "mode": "fallback",
        "limit_w": 1e6,
        "base_w": None,
        "solar_w": None,
        "wind_w": None,
        "margin_w": 0.0,
        "available_w": 4e5,
        "headroom_w": 4e5,
        "reason": "meter grid-meter lost",
    }
    data = {"mode": "fallback", "nodes": [node], "writes": 3, "write_failures": 1}
    data |= {"failing": {"B02": "refused"}, "limits": []}
    page = power_page(data)
    assert "fallback_kw" in page  # the mode explained
    assert "meter grid-meter lost" in page
    assert "B02: refused" in page
    assert "Plan" not in page  # no plan on this site
    plan = {"every_s": 60.0, "age_s": 12.0, "bays": 9, "served": 7, "failures": 1}
    page = power_page(data | {"plan": plan})
    assert "Plan  every 60 s, made 12 s ago: 9 bays, 7 trucks to serve fully, 1 failed" in page


def site_limit_validators() -> Any:
    reg = CommandRegistry()

    async def nothing(args: dict[str, Any]) -> dict[str, Any]:
        return {}

    reg.register("site-limit", load_schema("cmd-site-limit.json"), nothing)
    return reg.validators


def test_the_site_limit_command_schema() -> None:
    v = site_limit_validators()

    def verdict(args: dict[str, Any]) -> str:
        got = parse("site-limit", json.dumps({"request_id": "r", "args": args}).encode(), v)
        return "ok" if isinstance(got, Command) else got.code

    until = "2030-01-01T12:00:00+01:00"
    assert verdict({"node": "grid", "kw": 300, "until": until, "reason": "dso"}) == "ok"
    assert verdict({"node": "grid", "kw": None}) == "ok"  # lifts it
    assert verdict({"node": "grid"}) == "invalid_args"  # no accidental clear
    assert verdict({"node": "grid", "kw": 300, "reason": "dso"}) == "invalid_args"  # no until
    assert verdict({"node": "grid", "kw": 300, "until": until}) == "invalid_args"  # no reason
    assert verdict({"node": "grid", "kw": -1, "until": until, "reason": "x"}) == "invalid_args"
    no_zone = {"node": "grid", "kw": 1, "until": "2030-01-01T12:00:00", "reason": "x"}
    assert verdict(no_zone) == "invalid_args"


async def test_the_site_limit_command_sets_and_lifts_as_the_cloud(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge.operator_limits")
    limits = OperatorLimits(load_site(DEMO))
    until = "2027-01-15T09:00:00Z"  # NOW is 2027-01-15T08:00Z
    got = await command(
        limits, lambda: NOW, {"node": "feeder-north", "kw": 100, "until": until, "reason": "dso"}
    )
    assert got["limits"][0]["by"] == "cloud"
    assert limits.overrides(NOW) == (LimitOverride("feeder-north", 100_000.0),)
    with pytest.raises(ValueError, match="not a limit node"):  # a failed reply, named
        await command(limits, lambda: NOW, {"node": "nope", "kw": None})
    assert (await command(limits, lambda: NOW, {"node": "feeder-north", "kw": None}))["cleared"]
    assert limits.overrides(NOW) == ()
    assert any("by=cloud" in r.getMessage() for r in caplog.records)
