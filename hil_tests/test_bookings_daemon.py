"""Booking commands through a real mosquitto into the whole daemon: idempotent by request id
and by version, persisted across a restart, and the events the cloud notifies drivers from."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.store import audit_rows
from edge.uplink.api_schemas import check_message
from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.test_uplink_daemon import PREFIX, Cloud, replies, site_file
from tests.test_bay_cli import bays_unseen

pytestmark = pytest.mark.hil


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat(timespec="seconds").replace("+00:00", "Z")


def booking(version: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": "bk-cloud-1",
        "version": version,
        "start": iso(timedelta(minutes=10)),  # inside the 30 min lead: assigned at once
        "end": iso(timedelta(minutes=70)),
        "connector": "CCS",
        "inlet_side": "left",
        "plot": "main",
        "credentials": {"tractor_plate": "1-ABC-123", "qr_nonce": "00112233aabbccdd"},
        "terms": {"noshow_timeout_s": 900, "late_stop_s": 600},
        "status": "RESERVED",
        **extra,
    }


def outcomes(t: Any) -> dict[str, dict[str, Any]]:
    """Per request id, the reply that carries the command's outcome (not a replay's)."""
    return {
        str(r["request_id"]): r for r in stream(t, "cmd-reply") if r.get("status") != "duplicate"
    }


def stream(t: Any, name: str) -> list[dict[str, Any]]:
    return [r["payload"] for r in t.checker.records if r["stream"] == name]


async def test_booking_commands_end_to_end(broker: Broker, tmp_path: Path) -> None:
    config = bays_unseen(load_site(site_file(tmp_path, broker)))  # free to book at any hour
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        run = asyncio.create_task(daemon.run())
        try:
            await until(lambda: "telemetry/site" in t.checker.streams, 60, "snapshot")
            cloud.send("booking-upsert", {"request_id": "u1", "args": booking(1)})
            cloud.send("booking-upsert", {"request_id": "u1", "args": booking(1)})  # replay
            cloud.send("booking-upsert", {"request_id": "u2", "args": booking(1)})  # same version
            cloud.send("booking-upsert", {"request_id": "u3", "args": booking(2, plot=None)})
            cloud.send("booking-upsert", {"request_id": "u4", "args": booking(1)})  # stale
            cloud.send("booking-upsert", {"request_id": "u5", "args": {"id": "x"}})
            bad_period = booking(1, id="bk-bad", end=iso(timedelta(minutes=-5)))
            cloud.send("booking-upsert", {"request_id": "u6", "args": bad_period})
            cloud.send("booking-cancel", {"request_id": "c1", "args": {"id": "nope", "version": 1}})

            def replied() -> bool:
                return len(stream(t, "cmd-reply")) >= 8

            await until(replied, 60, "replies")
            # the replay's "duplicate" may be answered before the first u1 completes
            got = {**replies(t), **outcomes(t)}
            assert got["u1"]["result"]["outcome"] == "created"
            assert [r["status"] for r in stream(t, "cmd-reply")].count("duplicate") == 1
            assert got["u2"]["result"]["outcome"] == "duplicate"
            assert got["u3"]["result"]["outcome"] == "applied"
            assert got["u4"]["result"]["outcome"] == "stale"
            assert got["u4"]["result"]["booking"]["version"] == 2
            assert got["u5"]["code"] == "invalid_args"
            assert got["u6"]["status"] == "error"
            assert "period end must be after start" in got["u6"]["message"]
            assert got["c1"]["status"] == "error"
            await until(lambda: stream(t, "events/assignment"), 30, "assignment")
            assert stream(t, "events/assignment")[0]["to_bay"] == "B01"
            cloud.send(
                "booking-cancel", {"request_id": "c2", "args": {"id": "bk-cloud-1", "version": 3}}
            )
            await until(lambda: "c2" in replies(t), 30, "cancel")
            assert replies(t)["c2"]["result"]["booking"]["status"] == "CANCELED"
            await until(
                lambda: [a for a in stream(t, "events/assignment") if a["to_bay"] is None],
                30,
                "released",
            )
            released = [a for a in stream(t, "events/assignment") if a["to_bay"] is None]
            assert released[0]["reason"] == "released: booking canceled"
            # relayed from the store per source: the booking's own event may follow the release
            await until(lambda: len(stream(t, "events/booking")) >= 3, 30, "booking events")
            kinds = [e["outcome"] for e in stream(t, "events/booking")]
            assert kinds == ["created", "applied", "applied"]
            audit = stream(t, "events/audit")
            assert [e["seq"] for e in audit] == list(range(1, len(audit) + 1))
            assert (await audit_rows.verify(daemon.availability.store)).ok
            for topic_name, payload in list(t.raw):  # everything published obeys the API
                assert check_message(PREFIX, topic_name, payload) == [], topic_name
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(run, 20) == 0
    # Restart: the booking (version 3, cancelled) is still there; a replayed version is a no-op.
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        run = asyncio.create_task(daemon.run())
        try:
            await until(lambda: "telemetry/site" in t.checker.streams, 60, "snapshot")
            cloud.send("booking-upsert", {"request_id": "u7", "args": booking(3)})
            await until(lambda: "u7" in replies(t), 30, "reply after restart")
            assert replies(t)["u7"]["result"]["outcome"] == "duplicate"
            assert replies(t)["u7"]["result"]["booking"]["status"] == "CANCELED"
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(run, 20) == 0
