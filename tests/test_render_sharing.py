"""The live view's sharing block (`edge top`, `edge demo`) from the daemon's `bays` and
`power` answers, as fixture dicts."""

from __future__ import annotations

from typing import Any

from edge.cli.render import sharing_page


def _bay(bay: str, state: str | None, power: float | None, setpoint: float | None) -> Any:
    return {
        "id": bay,
        "state": state,
        "kind": "break" if state else None,
        "power_w": power,
        "setpoint_w": setpoint,
        "binding": "limit:grid" if state else "bay:" + bay,
    }


def _node(node: str, limit: float, budget: float, charging: float) -> Any:
    return {
        "id": node,
        "limit_w": limit,
        "available_w": budget,
        "charging_w": charging,
        "headroom_w": max(0.0, budget - charging),
    }


def test_each_bay_shows_state_power_setpoint_and_what_binds_it() -> None:
    bays = {"bays": [_bay("B01", "charging", 250_000.0, 240_000.0), _bay("B02", None, 0.0, 0.0)]}
    power = {"mode": "normal", "nodes": [_node("grid", 600_000.0, 500_000.0, 490_000.0)]}
    lines = sharing_page(bays, power).splitlines()
    assert lines[0] == "Sharing   mode normal"
    assert lines[1] == "  grid 490.0 kW of 500.0 kW budget (limit 600.0 kW), headroom 10.0 kW"
    assert lines[3].split() == ["BAY", "STATE", "KIND", "POWER", "SETPOINT", "BINDING"]
    assert lines[5].split() == [
        "B01",
        "charging",
        "break",
        "250.0",
        "kW",
        "240.0",
        "kW",
        "limit:grid",
    ]
    assert lines[6].split() == ["B02", "-", "-", "0.0", "kW", "0.0", "kW", "bay:B02"]


def test_a_degraded_mode_is_explained_and_no_cycle_said() -> None:
    power = {"mode": "hold", "nodes": []}
    page = sharing_page({"bays": []}, power)
    assert page.startswith("Sharing   mode hold (a meter is stale: no bay rises")
    assert page.endswith("no control cycle yet")
