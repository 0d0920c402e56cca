"""The whole daemon, in-process, over the real Modbus simulators on 127.0.0.1: the demo
site, whose two simulated DC cabinets drive its four bays. The controller's setpoints must
reach the cabinets' registers, and `edge bays` / `edge power` show what was decided."""

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
from edge.bookings_owner import BookingsOwner
from edge.cli.main import main as cli_main
from edge.runtime import Daemon
from edge.sessions import BookedStay, Estimate, Source
from edge.siteconf import load_site
from tests.conftest import DEMO
from tests.test_runtime import wait_for

# connector n's setpoint register, by the profile's rule (docs/chargers.md)
SETPOINT = {1: "power_setpoint_w", 2: "connector_2_power_setpoint_w"}


def demo_site(tmp_path: Path) -> Path:
    text = DEMO.read_text()
    text = text.replace('state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp_path / "state"}"')
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


def raised(daemon: Daemon) -> dict[str, Any]:
    """The first bay the controller raised above 100 kW (the opening trucks arrive in the
    first seconds); empty before."""
    rows = daemon.bays_status()["bays"] if daemon.cycle is not None else []
    return next((b for b in rows if (b.get("setpoint_w") or 0) > 100_000), {})


def cli_json(socket: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> Any:
    assert cli_main(["--socket", str(socket), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


async def test_setpoints_reach_the_simulated_cabinet_registers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_site(demo_site(tmp_path))
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        # A truck arrives; the controller raises its bay from the cabinet's fallback share,
        # ramping, and the connector's register follows.
        await wait_for(lambda: bool(raised(daemon)))
        row = raised(daemon)
        bay = next(b for b in config.bays if b.id == row["id"])
        charger = next(c for c in config.chargers if c.id == bay.charger)
        device = config.device(charger.device or "")
        assert device.unit is not None
        cab = daemon.sims.servers["sim-lan"].units[device.unit]  # type: ignore[union-attr]
        written = [v for p, v in cab.writes if p == SETPOINT[bay.connector_id or 1]]
        assert written, f"no setpoint reached {device.id} connector {bay.connector_id}"
        assert written[-1] == pytest.approx(row["setpoint_w"], abs=1.0)  # register == setpoint
        assert row["state"] == "charging"
        assert row["binding"]
        assert row["kind"] in ("break", "overnight")
        # The other connector of the same cabinet: the two together within its 400 kW.
        other = next(
            b
            for b in daemon.bays_status()["bays"]
            if b["id"] != row["id"] and b["charger"] == charger.id
        )
        assert other["allocated_w"] + row["allocated_w"] <= 400_000.0 + 1.0
        # The same through the CLI (the local API), as a technician sees it.
        bays = await asyncio.to_thread(cli_json, sock, "bays", capsys=capsys)
        assert {b["id"] for b in bays["bays"]} == {"B01", "B02", "B03", "B04"}
        power = await asyncio.to_thread(cli_json, sock, "power", capsys=capsys)
        assert {n["id"] for n in power["nodes"]} == {"grid", "feeder-main", "feeder-north"}
        assert power["write_failures"] == 0
        status = daemon.status()
        assert status["site"]["mode"] == "normal"
        assert status["bays"]["busy"] >= 1  # the raised bay at least; every bay is seen
        assert status["bays"]["unknown"] == 0
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0


async def test_a_booked_truck_on_its_bay_reaches_the_controller_as_booked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Site access's view of who is on which bay (`BookingsOwner.on_bays`, tested with the
    # owner in tests/test_bookings_owner.py) is what the daemon's controller reads each period.
    on_bays: dict[str, BookedStay] = {}
    monkeypatch.setattr(BookingsOwner, "on_bays", lambda self: dict(on_bays))
    config = load_site(demo_site(tmp_path))
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_for(lambda: bool(raised(daemon)))
        bay = raised(daemon)["id"]
        leaves = time.time() + 5400
        on_bays[bay] = BookedStay(
            "bk-42", Estimate(90_000.0, Source.BOOKING), Estimate(leaves, Source.BOOKING)
        )

        def row() -> dict[str, Any]:
            return next(b for b in daemon.bays_status()["bays"] if b["id"] == bay)

        await wait_for(lambda: row()["kind"] == "booked")
        got = row()
        assert (got["booking"], got["energy_wanted_wh"]) == ("bk-42", 90_000.0)
        assert (got["departure"], got["departure_from"]) == (leaves, "booking")
        assert await asyncio.to_thread(cli_main, ["--socket", str(sock), "bays"]) == 0
        assert "booked bk-42" in capsys.readouterr().out  # the technician's view
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0


def cli(socket: Path, *args: str) -> int:
    return cli_main(["--socket", str(socket), *args])


async def test_an_operator_limit_lowers_a_node_until_cleared_and_is_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.operator_limits")
    config = load_site(demo_site(tmp_path))
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_for(lambda: bool(raised(daemon)))
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

        # The feeder's budget now starts from 250 kW, named as the operator's (the bays'
        # shares under it are checked in tests/test_power_control.py).
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
