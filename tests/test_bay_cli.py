"""`edge bay disable|enable|status` against a live daemon with the uplink disabled."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pwd
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.siteconf.model import SiteConfig
from tests.conftest import DEMO


def cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def bays_unseen(config: SiteConfig) -> SiteConfig:
    """The site with its chargers' devices taken away: the simulated trucks still come, but
    the daemon cannot see them, so every bay stays free to book whatever the hour."""
    return replace(config, chargers=tuple(replace(c, device=None) for c in config.chargers))


@contextlib.asynccontextmanager
async def running(tmp_path: Path, *, unseen: bool = False) -> AsyncIterator[Daemon]:
    config = load_site(DEMO)
    config = bays_unseen(config) if unseen else config
    config = replace(config, storage=replace(config.storage, state_dir=tmp_path / "state"))
    assert not config.uplink.enabled
    sock = tmp_path / "edge.sock"
    daemon = Daemon(config, socket_path=sock)
    runner = asyncio.create_task(daemon.run())
    try:
        for _ in range(400):  # bounded wait for the socket
            if sock.exists() or runner.done():
                break
            await asyncio.sleep(0.05)
        assert sock.exists()
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0


async def ask(tmp_path: Path, *argv: str) -> tuple[int, str, str]:
    return await asyncio.to_thread(cli, ["--socket", str(tmp_path / "edge.sock"), *argv])


async def test_disable_enable_status_with_the_uplink_disabled(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    until = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")  # site time
    async with running(tmp_path) as daemon:
        assert daemon.uplink is None
        code, out, _ = await ask(
            tmp_path, "bay", "disable", "B02", "--reason", "cable swap", "--until", until
        )
        assert code == 0, out
        assert "cable swap (technician " + me in out
        code, out, _ = await ask(tmp_path, "bay", "disable", "ch02", "--reason", "fuse")
        assert code == 0
        code, out, _ = await ask(tmp_path, "bay", "status", "--json")
        s = json.loads(out)
        assert s["unavailable_bays"] == ["B02", "B03", "B04"]
        b02 = next(b for b in s["bays"] if b["id"] == "B02")
        assert b02["out_because"][0]["by"] == me  # from the socket's peer credentials
        assert b02["out_because"][0]["source"] == "technician"
        # `until` without an offset is Brussels time: UTC+1 in winter, +2 in summer.
        expected = datetime.fromisoformat(until).replace(tzinfo=None)
        got = datetime.fromisoformat(b02["out_because"][0]["until"]).replace(tzinfo=None)
        assert timedelta(hours=1) <= expected - got <= timedelta(hours=2)
        code, out, _ = await ask(tmp_path, "bay", "enable", "ch02", "--reason", "fuse replaced")
        assert code == 0
        code, out, _ = await ask(tmp_path, "status", "--json")
        assert json.loads(out)["bays"]["out_of_service"] == ["B02"]
        code, out, _ = await ask(tmp_path, "bay", "status")
        assert code == 0
        assert "B02" in out
        assert "cable swap" in out
    # A restart keeps what the technician decided.
    async with running(tmp_path):
        code, out, _ = await ask(tmp_path, "bay", "status", "--json")
        assert json.loads(out)["unavailable_bays"] == ["B02"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["disable", "B02", "--reason", "x", "--until", "2001-01-01T10:00"], "not in the future"),
        (["disable", "B02", "--reason", "x", "--until", "tomorrow"], "not an ISO 8601 time"),
        (["disable", "B02", "--reason", "x", "--until", "9999-12-31T23:59-14:00"], "days ahead"),
        (["enable", "B02", "--reason", "x", "--until", "0001-01-01T00:00"], "not in the future"),
        (["disable", "B99", "--reason", "x"], "'B99' is neither a bay nor a charger"),
        (["disable", "B02", "--reason", ""], "reason: required"),
        (["disable", "B02", "--reason", "a\nalarm_raised alarm=fake"], "control characters"),
        (["disable", "B02"], "--reason"),  # argparse: required
    ],
)
async def test_bad_requests_are_usage_errors_and_change_nothing(
    tmp_path: Path, argv: list[str], words: str
) -> None:
    async with running(tmp_path) as daemon:
        code, _, err = await ask(tmp_path, "bay", *argv)
        assert code == 2, err
        assert words in err
        assert daemon.availability.changes() == []


def test_bay_without_daemon_says_how_to_start_it(tmp_path: Path) -> None:
    code, _, err = cli(["--socket", str(tmp_path / "none.sock"), "bay", "status"])
    assert code == 3
    assert "daemon not reachable" in err
