"""Billing and authorization through a real mosquitto into the whole daemon: a full local
list in parts, the `authorize` request answered by the cloud, unanswered (the offline
policy after the timeout) and answered late, and the demo's trucks as events/session."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from edge.auth.model import AuthSource, AuthStatus
from edge.auth.wire import split_full
from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.uplink.api_schemas import check_message
from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.test_uplink_daemon import PREFIX, Cloud, replies, site_file

pytestmark = pytest.mark.hil
TIMEOUT_S = 1.5  # the hub's request timeout in this test
ANSWERS = {"CLOUDOK": {"status": "Accepted", "booking": "bk-cloud", "bay": None}}


def asked(t: Any) -> list[dict[str, Any]]:
    return [json.loads(p) for topic, p in t.requests if topic == f"{PREFIX}/req/authorize"]


async def answer_requests(t: Any, cloud: Cloud) -> None:
    """The cloud's side: answer every request for a token it knows, ignore the others."""
    done = 0
    for _ in range(10_000):  # bounded: the test cancels it long before
        for req in asked(t)[done:]:
            done += 1
            if req["id_token"] in ANSWERS:
                args = {"ask_id": req["ask_id"], **ANSWERS[req["id_token"]]}
                cloud.send("authorize-reply", {"request_id": f"ar-{done}", "args": args})
        await asyncio.sleep(0.02)


async def test_authorization_and_sessions_end_to_end(broker: Broker, tmp_path: Path) -> None:
    extra = f"\n[authorization]\nrequest_timeout_s = {TIMEOUT_S}\n"
    config = load_site(site_file(tmp_path, broker, extra))
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        run = asyncio.create_task(daemon.run())
        responder = asyncio.create_task(answer_requests(t, cloud))
        try:
            await until(lambda: "telemetry/site" in t.checker.streams, 60, "snapshot")
            entries = [{"id_token": f"{i:012X}", "status": "Accepted"} for i in range(700)]
            entries.append({"id_token": "BLOCKED1", "status": "Blocked"})
            parts = split_full(5, entries)
            assert len(parts) >= 2
            for n, args in enumerate(reversed(parts)):  # any order: applied when all are in
                cloud.send("auth-list-update", {"request_id": f"list-{n}", "args": args})
            last = f"list-{len(parts) - 1}"
            await until(lambda: last in replies(t), 60, "list replies")
            got = replies(t)
            outcomes = [got[f"list-{n}"]["result"]["outcome"] for n in range(len(parts))]
            assert outcomes == ["part-stored"] * (len(parts) - 1) + ["applied"]
            assert daemon.authorizer.local.version == 5
            cloud.send(
                "auth-list-update",
                {
                    "request_id": "stale",
                    "args": {"version": 5, "update": "differential", "entries": []},
                },
            )
            await until(lambda: "stale" in replies(t), 30, "stale reply")
            assert replies(t)["stale"]["status"] == "error"
            assert "above the list's 5" in replies(t)["stale"]["message"]

            local = await daemon.authorizer.authorize("00000000002a", "B01")
            assert (local.status, local.source) == (AuthStatus.ACCEPTED, AuthSource.LOCAL_LIST)
            blocked = await daemon.authorizer.authorize("blocked1", "B01")
            assert blocked.status is AuthStatus.BLOCKED
            cloud_ok = await daemon.authorizer.authorize("cloudok", "B02")
            assert (cloud_ok.status, cloud_ok.source, cloud_ok.booking) == (
                AuthStatus.ACCEPTED,
                AuthSource.CLOUD,
                "bk-cloud",
            )
            silent = await daemon.authorizer.authorize("SILENT", "B02")
            assert (silent.status, silent.source) == (AuthStatus.UNKNOWN, AuthSource.OFFLINE_POLICY)
            assert f"within {TIMEOUT_S:g} s" in silent.detail
            late = next(r for r in asked(t) if r["id_token"] == "SILENT")
            cloud.send(
                "authorize-reply",
                {"request_id": "late-1", "args": {"ask_id": late["ask_id"], "status": "Accepted"}},
            )
            await until(lambda: "late-1" in replies(t), 30, "late reply")
            assert replies(t)["late-1"]["result"]["applied"] is False

            def sessions() -> list[dict[str, Any]]:
                return [r["payload"] for r in t.checker.records if r["stream"] == "events/session"]

            await until(sessions, 90, "events/session from the demo's trucks")
            start = sessions()[0]
            assert start["event"] == "started"
            assert start["origin"] == "observed"
            assert start["meter_kind"] == "session"
            for topic_name, payload in list(t.raw):  # everything published obeys the API
                assert check_message(PREFIX, topic_name, payload) == [], topic_name
            assert t.checker.event_losses() == 0
            assert not run.done()
        finally:
            responder.cancel()
            await asyncio.gather(responder, return_exceptions=True)
            daemon.request_stop()
            assert await asyncio.wait_for(run, 20) == 0
