"""Pure pieces around the uplink: bay availability, snapshots, CLI pages."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from edge.availability import Change, Kind, Source, Topology, view
from edge.cli.uplink_commands import buffer_page, uplink_page
from edge.siteconf import load_site
from edge.uplink.availability import state_payload
from edge.uplink.commands import load_schema
from edge.uplink.telemetry import bay_rows, site_snapshot

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
T0 = 1_800_000_000.0


def test_availability_state_payload_keeps_the_published_schema() -> None:
    config = load_site(DEMO)
    topo = Topology.of(config)
    changes = [
        Change("B01", Kind.BAY, False, "cable", T0, T0 + 3600, Source.TECHNICIAN, "al"),
        Change("ch02", Kind.CHARGER, False, "fuse", T0, None, Source.CLOUD, "cloud"),
    ]
    payload = state_payload(view(changes, topo, T0 + 1))
    jsonschema.Draft202012Validator(load_schema("bay-availability.json")).validate(payload)
    assert payload["unavailable_bays"] == ["B01", "B03", "B04"]
    assert payload["out_of_service"]["B01"] == {
        "kind": "bay",
        "reason": "cable",
        "since": "2027-01-15T08:00:00.000Z",
        "expected_end": "2027-01-15T09:00:00.000Z",
    }
    assert payload["out_of_service"]["ch02"]["expected_end"] is None


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
