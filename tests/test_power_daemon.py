"""The whole daemon, in-process, over the real Modbus simulators on 127.0.0.1: the demo
site with a simulated DC cabinet behind charger ch01. The controller's setpoints must reach
the cabinet's registers, and `edge bays` / `edge power` show what was decided."""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from edge.availability_api import iso
from edge.cli.main import main as cli_main
from edge.runtime import Daemon
from edge.siteconf import load_site
from tests.conftest import DEMO
from tests.test_runtime import wait_for

CABINET = """
[[devices]]
id = "cab"
kind = "charger"
profile = "edgehub-dc-cabinet"
link = "sim-lan"
unit = 5
sim = { model = "cabinet", rated_kw = 400, demand_kw = 350 }
"""


def demo_with_cabinet(tmp_path: Path) -> Path:
    text = DEMO.read_text()
    text = text.replace('id = "ch01"\n', 'id = "ch01"\ndevice = "cab"\n', 1)
    text = text.replace("[[chargers]]", CABINET + "\n[[chargers]]", 1)
    text = text.replace('state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp_path / "state"}"')
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def b01(daemon: Daemon) -> dict[str, Any]:
    """B01's row; empty before the first cycle."""
    return next((b for b in daemon.bays_status()["bays"] if b["id"] == "B01"), {})


def cli_json(socket: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> Any:
    assert cli_main(["--socket", str(socket), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


async def test_setpoints_reach_the_simulated_cabinet_registers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_site(demo_with_cabinet(tmp_path))
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        # The cabinet starts in its own fallback (50 kW, status 5: a session is open); the
        # controller then raises B01 above it, ramping, and the register follows.
        await wait_for(
            lambda: daemon.cycle is not None and (b01(daemon).get("setpoint_w") or 0) > 100_000
        )
        cab = daemon.sims.servers["sim-lan"].units[5]  # type: ignore[union-attr]
        written = [v for p, v in cab.writes if p == "power_setpoint_w"]
        assert written, "no setpoint reached the cabinet"
        row = b01(daemon)
        assert written[-1] == pytest.approx(row["setpoint_w"], abs=1.0)  # register == setpoint
        assert row["state"] == "charging"
        assert row["binding"]
        assert row["kind"] in ("break", "overnight")
        # B02 is connector 2 of the same cabinet: its own register, and the two together
        # within the cabinet's 400 kW.
        b02 = next(b for b in daemon.bays_status()["bays"] if b["id"] == "B02")
        assert b02["allocated_w"] + row["allocated_w"] <= 400_000.0 + 1.0
        # The same through the CLI (the local API), as a technician sees it.
        bays = await asyncio.to_thread(cli_json, sock, "bays", capsys=capsys)
        assert {b["id"] for b in bays["bays"]} == {"B01", "B02", "B03", "B04"}
        power = await asyncio.to_thread(cli_json, sock, "power", capsys=capsys)
        assert {n["id"] for n in power["nodes"]} == {"grid", "feeder-main", "feeder-north"}
        assert power["write_failures"] == 0
        status = daemon.status()
        assert status["site"]["mode"] == "normal"
        assert status["bays"]["busy"] == 2  # B01, B02 seen charging; B03/B04 have no charger device
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0


def cli(socket: Path, *args: str) -> int:
    return cli_main(["--socket", str(socket), *args])


async def test_an_operator_limit_lowers_a_node_until_cleared_and_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.operator_limits")
    config = load_site(demo_with_cabinet(tmp_path))
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_for(
            lambda: daemon.cycle is not None and (b01(daemon).get("setpoint_w") or 0) > 100_000
        )
        until = iso(time.time() + 3600)
        assert until is not None
        # Refused, exit 2: an unknown node, a time in the past, no reason.
        assert (
            await asyncio.to_thread(
                cli, sock, "limit", "set", "nope", "--kw", "1", "--until", until, "--reason", "x"
            )
            == 2
        )
        past = iso(time.time() - 60)
        assert past is not None
        assert (
            await asyncio.to_thread(
                cli, sock, "limit", "set", "grid", "--kw", "1", "--until", past, "--reason", "x"
            )
            == 2
        )
        assert (
            await asyncio.to_thread(
                cli, sock, "limit", "set", "grid", "--kw", "1", "--until", until, "--reason", ""
            )
            == 2
        )
        capsys.readouterr()
        args = (
            "limit",
            "set",
            "feeder-main",
            "--kw",
            "250",
            "--until",
            until,
            "--reason",
            "transformer check",
        )
        assert await asyncio.to_thread(cli, sock, *args) == 0
        assert "feeder-main" in capsys.readouterr().out

        # The feeder's budget now starts from 250 kW, named as the operator's. (The demo's
        # simulated meters do not see the chargers yet, so the bay's share is checked in
        # tests/test_power_control.py, where the meters do.)
        def feeder() -> dict[str, Any]:
            return next(n for n in daemon.power_status()["nodes"] if n["id"] == "feeder-main")

        await wait_for(lambda: feeder()["binding"] == "override:feeder-main")
        assert feeder()["limit_w"] == 250_000.0
        power = await asyncio.to_thread(cli_json, sock, "power", capsys=capsys)
        assert power["limits"][0]["by"] == getpass.getuser()
        assert power["limits"][0]["reason"] == "transformer check"
        assert await asyncio.to_thread(cli, sock, "limit", "clear", "feeder-main") == 0
        assert daemon.power_status()["limits"] == []
        messages = [r.getMessage() for r in caplog.records]
        user = getpass.getuser()
        assert any(
            m.startswith("limit_set node=feeder-main kw=250") and f"by={user}" in m
            for m in messages
        )
        assert any(m.startswith("limit_cleared node=feeder-main was_set=True") for m in messages)
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0
