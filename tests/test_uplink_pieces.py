"""Pure pieces around the uplink: bay availability, snapshots, CLI pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli.uplink_commands import buffer_page, uplink_page
from edge.siteconf import load_site
from edge.uplink.availability import apply_change, state_payload, unavailable_bays
from edge.uplink.telemetry import bay_rows, site_snapshot

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"


def test_bay_and_charger_out_of_service_and_back() -> None:
    config = load_site(DEMO)
    e = apply_change({}, config, {"target": "B01", "available": False, "reason": "cable"}, "t0")
    e = apply_change(e, config, {"target": "ch02", "available": False, "reason": "fuse"}, "t1")
    assert unavailable_bays(e, config) == ["B01", "B03", "B04"]
    assert e["ch02"]["kind"] == "charger"
    e = apply_change(e, config, {"target": "ch02", "available": True}, "t2")
    assert state_payload(e, config)["unavailable_bays"] == ["B01"]
    with pytest.raises(ValueError, match="neither a bay nor a charger"):
        apply_change(e, config, {"target": "B99", "available": True}, "t3")


def test_snapshot_has_nulls_where_not_known() -> None:
    config = load_site(DEMO)
    record = {
        "cycle": 3,
        "mode": "normal",
        "import_w": 1000.0,
        "import_limit_w": 2e6,
        "headroom_w": 5.0,
        "generation_w": None,
        "warnings": [],
    }
    snap = site_snapshot(record, bay_rows(config, ["B02"]))
    assert snap["grid"]["import_w"] == 1000.0
    assert [b["available"] for b in snap["bays"]] == [True, False, True, True]
    assert all(b["power_w"] is None and b["state"] is None for b in snap["bays"])


def test_cli_pages_render() -> None:
    b = {
        "depth": {"event": 2, "state": 1, "telemetry": 9},
        "bytes": {"event": 1, "state": 2, "telemetry": 3},
        "oldest_age_s": {"event": 12.0},
        "disk_bytes": 4e6,
        "budget_bytes": 5e8,
        "event_reserve_bytes": 5e7,
        "send_rate_records_s": 10.0,
        "inflight": 3,
        "drain_estimate_s": 1.2,
        "counters": {"accepted": 12},
    }
    page = buffer_page(b)
    assert "event" in page and "12s" in page and "drain estimate 1s" in page  # noqa: PT018
    u = {
        "configured": True,
        "state": "connected",
        "broker": "mqtt://127.0.0.1:1",
        "buffer_depth": 3,
        "last_error": None,
        "alarms": {"buffer_budget": "x"},
        "out_of_service": ["B02"],
    }
    text = uplink_page(u)
    assert "connected" in text and "buffer_budget" in text and "B02" in text  # noqa: PT018
    assert uplink_page({"configured": False}) == "Uplink    disabled"
