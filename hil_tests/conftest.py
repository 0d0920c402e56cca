"""Fixtures for hil_tests: real protocol peers (socat pty pairs) started and stopped here."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hil_tests.broker import Broker
from hil_tests.daemon_process import DaemonProcess

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SOCAT_READY_S = 10.0  # generous: a loaded 2-core CI box can be slow to fork


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here is of the `hil` tier (tests/conftest.py marks the others)."""
    for item in items:
        if item.path.parent == HERE and not item.get_closest_marker("hil"):
            item.add_marker("hil")


@dataclass
class PtyPair:
    driver: str  # the end the driver opens, like /dev/ttyUSB0
    peer: str  # the end the simulator serves
    process: asyncio.subprocess.Process


@contextlib.asynccontextmanager
async def socat_pair(folder: Path, name: str = "tty") -> AsyncIterator[PtyPair]:
    """A socat pty pair, like two ends of an RS-485 line; killed on exit whatever happens."""
    if shutil.which("socat") is None:
        pytest.fail("socat is required for hil_tests (apt-get install socat)")
    a, b = folder / f"{name}A", folder / f"{name}B"
    process = await asyncio.create_subprocess_exec(
        "socat",
        "-d",
        "-d",
        f"pty,raw,echo=0,link={a}",
        f"pty,raw,echo=0,link={b}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(SOCAT_READY_S):
            while not (a.exists() and b.exists()):
                if process.returncode is not None:
                    pytest.fail(f"socat exited early with {process.returncode}")
                await asyncio.sleep(0.01)  # polling the file system: there is nothing to await
        yield PtyPair(str(a), str(b), process)
    finally:
        await stop_process(process)


async def stop_process(process: asyncio.subprocess.Process) -> None:
    """Terminate, then kill if it does not go within 5 s; always reaped."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await asyncio.wait_for(process.wait(), timeout=5)


@pytest.fixture
async def rs485(tmp_path: Path) -> AsyncIterator[PtyPair]:
    async with socat_pair(tmp_path) as pair:
        yield pair


@pytest.fixture
def demo_daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(REPO / "config" / "demo.toml", tmp_path)
    try:
        yield daemon
    finally:
        daemon.close()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A mosquitto of the test's own on a free loopback port, stopped after the test."""
    b = Broker(tmp_path / "broker")
    b.start()
    try:
        yield b
    finally:
        b.stop()
