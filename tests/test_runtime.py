"""The daemon in-process: a failed vital task exits 1; logs are one key=value event a line."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from edge.control_cycle import ControlCycle
from edge.local_api.client import LocalApiClient
from edge.logs import KeyValueFormatter, set_area_level
from edge.runtime import Daemon
from edge.safe_state import apply_all, safe_outputs
from edge.sdnotify import Notifier
from edge.siteconf import load_site
from edge.siteconf.model import SiteConfig
from tests.conftest import DEMO


def demo_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_site(DEMO)
    return replace(config, storage=replace(config.storage, state_dir=tmp_path / "state"))


async def test_failed_vital_task_stops_the_daemon_with_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge")

    async def broken_run(self: ControlCycle) -> None:
        raise RuntimeError("control cannot run")

    monkeypatch.setattr(ControlCycle, "run", broken_run)
    daemon = Daemon(demo_config(tmp_path), socket_path=tmp_path / "edge.sock")
    assert await asyncio.wait_for(daemon.run(), timeout=20) == 1
    assert daemon.supervisor.failed_task == "control"
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        m.startswith("safe_state_applied reason=stopping: vital task control failed")
        for m in messages
    ), messages
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


SAFE_SITE = """
[site]
id = "safe-test"
name = "Safe state test"
timezone = "Europe/Brussels"

[control]
period_s = 0.2
stale_after_s = 3.0

[[plots]]
id = "main"
name = "Main"

[[limits]]
id = "grid"
name = "Grid"
import_kw = 1000
fallback_kw = 400
meter = "grid-meter"

[[links]]
id = "sim"
type = "simulated"
protocol = "modbus-tcp"
timeout_s = 0.5

[[devices]]
id = "grid-meter"
kind = "meter"
role = "grid"
profile = "janitza-umg604"
link = "sim"
unit = 1
sim = { model = "grid", base_kw = 60, peak_kw = 140 }

[[devices]]
id = "cab"
kind = "charger"
profile = "edgehub-dc-cabinet"
link = "sim"
unit = 5
sim = { model = "cabinet", rated_kw = 400, demand_kw = 350 }

[[devices]]
id = "io"
kind = "io"
profile = "wago-750-352-dio"
link = "sim"
unit = 7

[[chargers]]
id = "ch01"
limit = "grid"
max_power_kw = 400
fallback_kw = 50
device = "cab"

[[bays]]
id = "B01"
plot = "main"
charger = "ch01"
connector_id = 1
connector = "CCS"
max_power_kw = 400
inlet_sides = ["left"]

[[gates]]
id = "in"
plot = "main"
direction = "entry"
barrier_output = "io:output_1"

[[gates]]
id = "out"
plot = "main"
direction = "exit"
barrier_output = "io:output_2"

[storage]
state_dir = "{state}"
"""


class NotifyCatcher:
    """A datagram socket posing as systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)

    def drain(self) -> list[str]:
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return out


async def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll the in-process daemon (bounded in count and time) until `condition` holds."""
    for _ in range(int(timeout_s / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    assert condition(), "condition not met in time"


def safe_site(tmp_path: Path) -> SiteConfig:
    path = tmp_path / "site.toml"
    path.write_text(SAFE_SITE.replace("{state}", str(tmp_path / "state")))
    return load_site(path)


async def test_a_failed_cycle_writes_every_safe_output_and_stops_the_watchdog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catcher = NotifyCatcher(tmp_path / "notify.sock")
    notifier = Notifier(str(tmp_path / "notify.sock"))
    daemon = Daemon(safe_site(tmp_path), socket_path=tmp_path / "edge.sock", notifier=notifier)
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_for(lambda: daemon.cycle is not None and daemon.cycle.completed >= 3)
        assert sorted(o.name for o in daemon.safe_state_hooks) == [
            "charger ch01 connector_2_power_setpoint_w=0",  # no bay on connector 2
            "charger ch01 power_setpoint_w=50000",
            "gate in io:output_1 closed",
            "gate out io:output_2 open",
        ]
        units = daemon.sims.servers["sim"].units  # type: ignore[union-attr]
        cab, io = units[5], units[7]
        io.writes.clear()
        cab.writes.clear()
        assert any("WATCHDOG=1" in m for m in catcher.drain())

        def broken(inputs: object) -> object:
            raise RuntimeError("decision broken on purpose")

        # Between two cycles (no await in between): every cycle from here on fails.
        monkeypatch.setattr("edge.control_cycle.assess_site", broken)
        failed_before = daemon.cycle.failed  # type: ignore[union-attr]
        await wait_for(
            lambda: (
                ("power_setpoint_w", 50_000.0) in cab.writes
                and ("output_2", 1.0) in io.writes
                and ("output_1", 0.0) in io.writes
            )
        )
        await wait_for(lambda: daemon.cycle.failed >= failed_before + 3)  # type: ignore[union-attr]
        assert not any("WATCHDOG=1" in m for m in catcher.drain())
        assert daemon.status()["control"]["failed_cycles"] >= 3
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0
        catcher.sock.close()


class BrokenSink:
    def offer(self, record: dict[str, Any]) -> None:
        raise RuntimeError("outbox bookkeeping broken on purpose")


async def test_a_cloud_side_fault_is_not_a_failed_control_cycle(tmp_path: Path) -> None:
    catcher = NotifyCatcher(tmp_path / "notify.sock")
    notifier = Notifier(str(tmp_path / "notify.sock"))
    daemon = Daemon(
        safe_site(tmp_path),
        socket_path=tmp_path / "edge.sock",
        notifier=notifier,
        sink=BrokenSink(),
    )
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_for(lambda: daemon.cycle is not None and daemon.cycle.completed >= 3)
        cab = daemon.sims.servers["sim"].units[5]  # type: ignore[union-attr]
        assert daemon.cycle.failed == 0  # type: ignore[union-attr]
        assert daemon.cycle.sink_failures >= 3  # type: ignore[union-attr]
        assert ("power_setpoint_w", 50_000.0) not in cab.writes  # no safe state applied
        messages = catcher.drain()
        assert any("READY=1" in m for m in messages)
        assert any("WATCHDOG=1" in m for m in messages)
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, timeout=20) == 0
        catcher.sock.close()


async def test_stopping_applies_the_safe_state_and_status_has_cycle_figures(
    tmp_path: Path,
) -> None:
    daemon = Daemon(safe_site(tmp_path), socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    await wait_for(lambda: daemon.cycle is not None and daemon.cycle.completed >= 3)
    control = daemon.status()["control"]
    assert control["cycles"] >= 3
    assert 0 < control["cycle_p50_ms"] <= control["cycle_p99_ms"]
    cab = daemon.sims.servers["sim"].units[5]  # type: ignore[union-attr]
    cab.writes.clear()
    daemon.request_stop("SIGTERM")
    assert await asyncio.wait_for(runner, timeout=20) == 0
    assert ("power_setpoint_w", 50_000.0) in cab.writes


class FakePoint:
    writable = True


class FakeProfile:
    def __init__(self, points: set[str]) -> None:
        self.points = points

    def point(self, name: str) -> FakePoint:
        if name not in self.points:
            raise KeyError(name)
        return FakePoint()


class Writer:
    def __init__(self, points: set[str]) -> None:
        self.profile = FakeProfile(points)
        self.written: list[tuple[str, float]] = []

    async def write_point(self, name: str, value: float) -> None:
        self.written.append((name, value))


class Cabinet(Writer):
    released = False

    def release(self) -> None:
        self.released = True


async def test_safe_outputs_per_device_kind_and_lane_direction(tmp_path: Path) -> None:
    config = safe_site(tmp_path)
    two_way = replace(config.gates[0], id="both", direction="both")
    config = replace(config, gates=(*config.gates, two_way))
    io = Writer({"output_1", "output_2"})
    outputs = safe_outputs(config, {"cab": Cabinet({"power_setpoint_w"}), "io": io})
    assert [o.name for o in outputs] == [
        "charger ch01 released",  # a CAN cabinet falls back by itself once released
        "gate in io:output_1 closed",
        "gate out io:output_2 open",
        "gate both io:output_1 open",
    ]
    assert await apply_all(outputs, "test") == 0
    assert io.written == [("output_1", 0.0), ("output_2", 1.0), ("output_1", 1.0)]
    # A charger whose profile has no setpoint to write gets no output, and says so.
    assert [o.name for o in safe_outputs(config, {"cab": Writer(set())})] == []
