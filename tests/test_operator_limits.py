"""Operator limits (`edge limit set/clear`) and the `edge bays` / `edge power` pages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.cli.power_commands import bays_page, power_page
from edge.operator_limits import OperatorLimits
from edge.power.budget import LimitOverride
from edge.siteconf import load_site

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
NOW = 1_800_000_000.0


def test_a_limit_holds_until_its_time_then_lapses_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="edge.operator_limits")
    limits = OperatorLimits(load_site(DEMO))
    limits.set("grid", 300, NOW + 60, "grid operator call", "alice", NOW)
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
def test_bad_limits_are_refused_naming_what(
    node: str, kw: float, until: float, reason: str, says: str
) -> None:
    limits = OperatorLimits(load_site(DEMO))
    with pytest.raises(ValueError, match=says):
        limits.set(node, kw, until, reason, "bob", NOW)
    assert limits.overrides(NOW) == ()


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
