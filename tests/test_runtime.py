"""The daemon in-process: a failed vital task exits 1; logs are one key=value event a line."""

from __future__ import annotations

import asyncio
import logging
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edge.control_cycle import ControlCycle
from edge.local_api.client import LocalApiClient
from edge.logs import KeyValueFormatter, set_area_level
from edge.runtime import Daemon
from edge.siteconf import load_site
from tests.conftest import DEMO


def demo_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_site(DEMO)
    return replace(config, storage=replace(config.storage, state_dir=tmp_path / "state"))


async def test_failed_vital_task_stops_the_daemon_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_run(self: ControlCycle) -> None:
        raise RuntimeError("control cannot run")

    monkeypatch.setattr(ControlCycle, "run", broken_run)
    daemon = Daemon(demo_config(tmp_path), socket_path=tmp_path / "edge.sock")
    assert await asyncio.wait_for(daemon.run(), timeout=20) == 1
    assert daemon.supervisor.failed_task == "control"
    assert not (tmp_path / "edge.sock").exists()


async def test_set_log_level_over_the_api(tmp_path: Path) -> None:
    daemon = Daemon(demo_config(tmp_path), socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        for _ in range(200):
            if (tmp_path / "edge.sock").exists():
                break
            await asyncio.sleep(0.05)

        def ask() -> dict[str, str]:
            with LocalApiClient(tmp_path / "edge.sock") as client:
                return client.call("set-log-level", {"area": "edge.drivers", "level": "debug"})  # type: ignore[no-any-return]

        assert await asyncio.to_thread(ask) == {"area": "edge.drivers", "level": "debug"}
        assert logging.getLogger("edge.drivers").level == logging.DEBUG
    finally:
        logging.getLogger("edge.drivers").setLevel(logging.NOTSET)
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=10) == 0


def test_bad_log_level_is_refused() -> None:
    with pytest.raises(ValueError, match="'loud' is not one of debug, info"):
        set_area_level("edge", "loud")


def test_formatter_one_line_with_context_and_folded_traceback() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "edge.x", logging.ERROR, __file__, 1, "task_failed task=%s", ("t1",), exc_info
    )
    journal = KeyValueFormatter(journal=True).format(record)
    assert "\n" not in journal
    assert journal.startswith("level=error area=edge.x task_failed task=t1 traceback=")
    assert KeyValueFormatter(journal=False).format(record).startswith("ts=")
