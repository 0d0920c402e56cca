"""The whole daemon against simulated devices with injected faults: each fault gives its
points the right quality, the device recovers when the fault clears, and each device logs
one warning on the way down and one info on the way back.

| fault                    | quality while it lasts |
|--------------------------|------------------------|
| no reply (dead unit)     | comm_lost              |
| late reply               | comm_lost, never wrong |
| exception reply          | invalid                |
| garbage reply            | comm_lost              |
| frozen values            | invalid                |
| endpoint down (TCP)      | comm_lost, all units   |
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from edge.cli.device_commands import devices_page
from edge.drivers.catalog import SHIPPED, shipped_catalog
from edge.local_api.client import LocalApiClient
from edge.readings import Quality
from edge.runtime import Daemon
from edge.sim.modbus_server import SimModbusServer
from edge.sim.sim_unit import Fault
from edge.siteconf import load_site
from tests.peers import CLOCK, CapturingImage

pytestmark = pytest.mark.hil
DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
DEVICES = {"silent": 1, "late": 2, "refusing": 3, "garbage": 4, "frozen": 5, "steady": 6}


def site(tmp_path: Path) -> Path:
    profile = (
        (SHIPPED / "eastron-sdm630.toml")
        .read_text(encoding="utf-8")
        .replace('id = "eastron-sdm630"', 'id = "sdm630-fast-freeze"')
        .replace("frozen_after_s = 60.0", "frozen_after_s = 1.0")
    )
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "sdm630-fast-freeze.toml").write_text(profile, encoding="utf-8")
    text = DEMO.read_text(encoding="utf-8").replace("timeout_s = 0.5", "timeout_s = 0.4")
    # Lost is counted from the last good value: keep the wait for it short.
    text = text.replace("stale_after_s = 3.0", "stale_after_s = 3.0\nlost_after_s = 4.0")
    text = text.replace('state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp_path / "state"}"')
    for name, unit in DEVICES.items():
        text += (
            f'\n[[devices]]\nid = "{name}"\nkind = "meter"\nprofile = "sdm630-fast-freeze"\n'
            f'link = "sim-lan"\nunit = {unit + 20}\npoll_s = 0.2\n'
            f'sim = {{ model = "load", base_kw = {10 * unit}, peak_kw = {20 * unit} }}\n'
        )
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def daemon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    monkeypatch.setenv("EDGE_PROFILE_PATH", str(tmp_path / "profiles"))
    path = site(tmp_path)
    shipped_catalog.cache_clear()
    config = load_site(path)
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    # The same image, with the site's stale and lost times, plus a wake-up on every change.
    daemon.image = CapturingImage(config.control.stale_after_s, config.control.lost_after_s)
    task = asyncio.create_task(daemon.run())
    try:
        await until(daemon, lambda: daemon.cycle is not None and daemon.cycle.completed >= 1)
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, timeout=10) == 0
        shipped_catalog.cache_clear()


def quality(daemon: Daemon, device: str) -> Quality | None:
    reading = daemon.image.freeze(CLOCK.monotonic(), CLOCK.wall()).reading(device, "power_w")
    return reading.quality if reading is not None else None


async def until(daemon: Daemon, condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Await the daemon's readings (every poll changes its image) until `condition` holds."""
    assert isinstance(daemon.image, CapturingImage)
    await daemon.image.wait_until(condition, timeout_s)


def faults(daemon: Daemon) -> dict[str, Fault]:
    server = daemon.sims.servers["sim-lan"]
    return {name: server.units[unit + 20].fault for name, unit in DEVICES.items()}


async def test_each_fault_flags_its_points_and_recovers(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.drivers")
    names = [n for n in DEVICES if n != "steady"]
    await until(daemon, lambda: all(quality(daemon, n) is Quality.OK for n in DEVICES))
    f = faults(daemon)
    f["silent"].silent = True
    f["late"].delay_s = 1.0  # 2.5 timeouts
    f["refusing"].exception = 4
    f["garbage"].garbage = True
    f["frozen"].frozen = True
    expected = {
        "silent": Quality.COMM_LOST,
        "late": Quality.COMM_LOST,
        "refusing": Quality.INVALID,
        "garbage": Quality.COMM_LOST,
        "frozen": Quality.INVALID,
        "steady": Quality.OK,
    }
    await until(daemon, lambda: all(quality(daemon, n) is q for n, q in expected.items()))
    for fault in f.values():
        fault.silent = fault.garbage = fault.frozen = False
        fault.delay_s, fault.exception = 0.0, None
    await until(daemon, lambda: all(quality(daemon, n) is Quality.OK for n in DEVICES))
    messages = [r.getMessage() for r in caplog.records]
    for name in names:
        down = [m for m in messages if re.match(rf"device_\w+ device={name} ", m)]
        assert len([m for m in down if "recovered" not in m]) == 1, (name, down)
        assert len([m for m in down if "recovered" in m]) == 1, (name, down)
    assert not [m for m in messages if "device=steady" in m]


async def test_endpoint_down_flags_every_unit_and_all_recover(daemon: Daemon) -> None:
    await until(daemon, lambda: all(quality(daemon, n) is Quality.OK for n in DEVICES))
    server: SimModbusServer = daemon.sims.servers["sim-lan"]
    await server.stop()  # the gateway reboots: connections refused
    await until(daemon, lambda: all(quality(daemon, n) is Quality.COMM_LOST for n in DEVICES))
    await server.start()  # same port
    await until(
        daemon, lambda: all(quality(daemon, n) is Quality.OK for n in DEVICES), timeout_s=60
    )


async def test_edge_devices_shows_health_values_and_links(daemon: Daemon) -> None:
    await until(daemon, lambda: all(quality(daemon, n) is Quality.OK for n in DEVICES))

    def ask() -> dict[str, object]:
        with LocalApiClient(daemon.socket_path) as client:
            result = client.call("devices")
        assert isinstance(result, dict)
        return result

    data = await asyncio.to_thread(ask)  # the CLI's blocking client, off the daemon's loop
    page = devices_page(data)
    assert "steady" in page
    assert "power_w" in page
    assert "sim-lan" in page
    rows = {d["device"]: d for d in data["devices"]}  # type: ignore[attr-defined]
    assert rows["steady"]["values"]["power_w"][2] == "ok"
