"""The whole daemon with its uplink against a test mosquitto: birth/will, telemetry,
commands (incl. fuzzed ones), status and the local API."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from edge.cli.main import main
from edge.local_api.client import LocalApiClient
from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.uplink.api_schemas import check_message
from edge.uplink.commands import load_schema
from edge.uplink.mqtt_adapter import MqttLink
from hil_tests.broker import Broker
from hil_tests.harness import link_settings, tail, until

pytestmark = pytest.mark.hil
DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
PREFIX = "hubs/demo-hub"


def site_file(tmp: Path, broker: Broker, extra: str = "") -> Path:
    text = DEMO.read_text().replace(
        'state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp}/state"'
    )
    text = text.replace(
        "[storage]", f'[uplink]\nbroker = "{broker.url}"\nsnapshot_every_s = 1\n{extra}\n[storage]'
    )
    path = tmp / "site.toml"
    path.write_text(text)
    return path


def cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


class Cloud:
    """A cloud-side client: sends commands, collects replies via a Tail."""

    def __init__(self, url: str) -> None:
        self.link = MqttLink(link_settings(url, "cloud-sender"))
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Cloud:
        self.task = asyncio.create_task(self.link.run())
        await asyncio.wait_for(self.link.connected.wait(), 20)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.link.close()
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    def send(self, name: str, payload: bytes | dict[str, Any]) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        assert self.link.publish(f"{PREFIX}/cmd/{name}", raw) is not None


def replies(t: Any) -> dict[str, dict[str, Any]]:
    """The first reply per request id (a replay's reply comes later)."""
    out: dict[str, dict[str, Any]] = {}
    for r in t.checker.records:
        if r["stream"] == "cmd-reply":
            out.setdefault(str(r["payload"].get("request_id")), r["payload"])
    return out


async def test_daemon_uplink_end_to_end_with_fuzzed_commands(
    broker: Broker, tmp_path: Path
) -> None:
    config = load_site(site_file(tmp_path, broker))
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        run = asyncio.create_task(daemon.run())
        try:
            await until(
                lambda: any(s == "telemetry/site" for s in t.checker.streams), 60, "snapshot"
            )
            status = [json.loads(p) for topic, p in t.raw if topic == f"{PREFIX}/status"]
            assert status[0]["state"] == "online"
            assert status[0]["boot_id"] == daemon.boot_id
            cloud.send("ping", {"request_id": "r1", "args": {}})
            cloud.send(
                "bay-availability",
                {
                    "request_id": "r2",
                    "args": {
                        "target": "B02",
                        "available": False,
                        "reason": "cable swap",
                        "expected_end": "2030-01-01T12:00:00Z",
                    },
                },
            )
            cloud.send("ping", {"request_id": "r1", "args": {}})  # replay
            cloud.send(
                "ping", {"request_id": "r3", "not_after": "2001-01-01T00:00:00Z", "args": {}}
            )
            cloud.send("ping", b"{not json")
            cloud.send("ping", {"request_id": "r4", "args": {"x": 1}})
            cloud.send("ping", {"request_id": 5, "args": {}})
            cloud.send("nope", {"request_id": "r6", "args": {}})
            cloud.send("ping", b"x" * 100_000)
            cloud.send("set-log-level", {"request_id": "r7", "args": {"level": "loud"}})
            cloud.send(
                "bay-availability",
                {"request_id": "r8", "args": {"target": "B99", "available": True}},
            )
            cloud.send(
                "set-log-level",
                {"request_id": "r9", "args": {"area": "edge.uplink", "level": "debug"}},
            )
            limit = {"node": "feeder-main", "kw": 250, "until": "2030-01-01T12:00:00Z"}
            cloud.send("site-limit", {"request_id": "r10", "args": {**limit, "reason": "dso"}})
            cloud.send("site-limit", {"request_id": "r11", "args": {"node": "nope", "kw": None}})
            await until(
                lambda: len([r for r in t.checker.records if r["stream"] == "cmd-reply"]) >= 14,
                60,
                "replies",
            )
            got = replies(t)
            assert got["r1"]["status"] == "ok"
            assert got["r1"]["result"]["boot_id"] == daemon.boot_id
            assert got["r2"]["status"] == "ok"
            assert got["r2"]["result"]["unavailable_bays"] == ["B02"]
            statuses = sorted(
                r["payload"]["status"] for r in t.checker.records if r["stream"] == "cmd-reply"
            )
            assert statuses.count("duplicate") == 1
            assert got["r3"]["status"] == "expired"
            assert got["r4"]["code"] == "invalid_args"
            assert got["r6"]["code"] == "unknown_command"
            assert got["r7"]["code"] == "invalid_args"
            assert got["r8"]["status"] == "error"
            assert got["r10"]["status"] == "ok"
            assert got["r10"]["result"]["limits"][0]["by"] == "cloud"
            assert got["r11"]["status"] == "error"
            assert daemon.power_status()["limits"][0]["node"] == "feeder-main"
            assert got["r9"]["status"] == "ok"
            codes = [
                r["payload"].get("code") for r in t.checker.records if r["stream"] == "cmd-reply"
            ]
            assert "bad_json" in codes
            assert "too_large" in codes
            assert "invalid" in codes
            validator = jsonschema.Draft202012Validator(load_schema("cmd-reply.json"))
            for r in t.checker.records:
                if r["stream"] == "cmd-reply":
                    validator.validate(r["payload"])
            await until(lambda: "telemetry/buffer" in t.checker.streams, 30, "buffer stats")
            await until(lambda: "telemetry/health" in t.checker.streams, 30, "device health")
            for topic_name, payload in list(t.raw):  # everything published obeys the API
                assert check_message(PREFIX, topic_name, payload) == [], topic_name
            # Availability: persisted, published (retained state) and in `edge status`.
            await until(lambda: "state/bay-availability" in t.checker.streams, 30, "state")
            with LocalApiClient(tmp_path / "edge.sock") as api:
                s = await asyncio.to_thread(api.call, "status")
                assert s["uplink"]["state"] == "connected"
                assert s["uplink"]["out_of_service"] == ["B02"]
                b = await asyncio.to_thread(api.call, "buffer")
                assert set(b["depth"]) == {"event", "state", "telemetry"}
            sock = str(tmp_path / "edge.sock")
            for cmd, words in (("buffer", "drain estimate"), ("uplink", "connected")):
                code, out = await asyncio.to_thread(cli, ["--socket", sock, cmd])
                assert code == 0
                assert words in out
            # A technician's change goes through the same owner and out to the cloud.
            code, _ = await asyncio.to_thread(
                cli, ["--socket", sock, "bay", "disable", "B03", "--reason", "barrier test"]
            )
            assert code == 0
            await until(
                lambda: any(
                    r["stream"] == "state/bay-availability"
                    and r["payload"]["unavailable_bays"] == ["B02", "B03"]
                    for r in t.checker.records
                ),
                30,
                "technician change published",
            )
            for topic_name, payload in list(t.raw):
                assert check_message(PREFIX, topic_name, payload) == [], topic_name
            assert not run.done(), "nothing sent could stop the daemon"
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(run, 20) == 0
        await until(
            lambda: (
                json.loads([p for tp, p in t.raw if tp == f"{PREFIX}/status"][-1])["state"]
                == "offline"
            ),
            20,
            "offline",
        )
    # The availability survives a restart.
    daemon2 = Daemon(load_site(site_file(tmp_path, broker)), socket_path=tmp_path / "edge2.sock")
    run2 = asyncio.create_task(daemon2.run())
    try:
        await until(lambda: daemon2.cycle is not None, 30, "started")
        assert list(daemon2.availability.view().out_of_service) == ["B02", "B03"]
        assert daemon2.availability.view().out_of_service["B02"].reason == "cable swap"
    finally:
        daemon2.request_stop()
        await asyncio.wait_for(run2, 20)
