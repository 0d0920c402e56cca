"""A silent grid meter puts the site in hold within the stale time (no increases, the
limit stands), in fallback once the meter is lost (the configured fallback), and recovery
returns it to normal. The daemon runs in-process here so the test can inject the fault."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from edge.runtime import Daemon
from edge.siteconf import load_site
from hil_tests.conftest import REPO
from tests.polling import wait_until

pytestmark = pytest.mark.hil


async def test_silent_grid_meter_means_fallback_then_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    config = load_site(REPO / "config" / "demo.toml")
    config = replace(config, storage=replace(config.storage, state_dir=tmp_path / "state"))
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: daemon.cycle is not None and daemon.cycle.completed >= 2, 15)
        assert daemon.status()["site"]["mode"] == "normal"

        grid_unit = daemon.sims.servers["sim-lan"].units[1]
        grid_unit.fault.silent = True
        await wait_until(lambda: daemon.status()["site"]["mode"] == "hold", 10)
        status = daemon.status()
        assert status["site"]["import_limit_w"] == 600_000.0  # the limit stands in hold
        assert status["site"]["headroom_w"] == 0.0  # but nothing may rise
        assert any(
            "limit grid: hold: meter grid-meter stale" in w and "(last good value" in w
            for w in status["warnings"]
        )
        assert status["devices"]["lost"] == 1

        lost_s = config.control.lost_after_s
        await wait_until(lambda: daemon.status()["site"]["mode"] == "fallback", lost_s + 10)
        status = daemon.status()
        assert status["site"]["import_limit_w"] == 400_000.0  # the configured fallback
        assert status["site"]["headroom_w"] == 0.0
        assert any("limit grid: fallback: meter grid-meter lost" in w for w in status["warnings"])
        assert daemon.power_status()["nodes"][0]["mode"] == "fallback"

        grid_unit.fault.silent = False
        await wait_until(lambda: daemon.status()["site"]["mode"] == "normal", 20)
        messages = [r.getMessage() for r in caplog.records]
        assert sum(m.startswith("device_lost device=grid-meter") for m in messages) == 1
        assert sum(m.startswith("device_recovered device=grid-meter") for m in messages) == 1
    finally:
        # Always stop the daemon; a crash or a hang on stop fails the test (it is not
        # swallowed), chained to any earlier failure.
        daemon.request_stop()
        exit_code = await asyncio.wait_for(runner, timeout=10)
    assert exit_code == 0, f"daemon exited with {exit_code}"
