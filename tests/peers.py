"""Helpers for tests that drive the drivers against real protocol peers on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any

from edge.clock import SystemClock
from edge.drivers.catalog import load_any_profile
from edge.drivers.modbus_client import ModbusClient, SerialLine, TcpEndpoint
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage
from edge.readings import Reading

CLOCK = SystemClock()


def write_profile(folder: Path, text: str, name: str = "test.toml") -> Profile:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    profile = load_any_profile(path)
    assert isinstance(profile, Profile)
    return profile


class CapturingImage(ProcessImage):
    """A process image that remembers every reading ever put, and wakes waiters on each."""

    def __init__(self, stale_after_s: float = 60.0, lost_after_s: float = 60.0) -> None:
        super().__init__(stale_after_s, lost_after_s)
        self.history: list[tuple[str, str, Reading]] = []
        self._changed = asyncio.Event()

    def put(self, device: str, point: str, reading: Reading) -> None:
        super().put(device, point, reading)
        self.history.append((device, point, reading))
        self._changed.set()

    def put_all(self, device: str, readings: Mapping[str, Reading]) -> None:
        super().put_all(device, readings)
        self.history.extend((device, point, r) for point, r in readings.items())
        self._changed.set()

    def mark_device(self, device: str, at: float) -> None:
        super().mark_device(device, at)
        self._changed.set()

    def ok(self, device: str | None = None) -> list[tuple[str, str, Reading]]:
        return [h for h in self.history if h[2].usable() and (device is None or h[0] == device)]

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float) -> None:
        """Await new readings until `predicate()` holds; TimeoutError after `timeout_s`."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


def tcp_link(port: int, timeout_s: float, **kwargs: Any) -> ModbusLink:
    client = ModbusClient(TcpEndpoint("127.0.0.1", port), timeout_s)
    return ModbusLink("lan", client, CLOCK, **kwargs)


def rtu_link(port: str, timeout_s: float, baud: int = 9600, **kwargs: Any) -> ModbusLink:
    from edge.drivers.line_capacity import Framing

    client = ModbusClient(SerialLine(port, baud, "N", 1), timeout_s)
    kwargs.setdefault("framing", Framing(baud, "N", 1))
    return ModbusLink("rs485", client, CLOCK, **kwargs)


@contextlib.asynccontextmanager
async def running(*jobs: Callable[[], Coroutine[Any, Any, None]]) -> AsyncIterator[None]:
    """Run long-lived coroutines (links, device pollers) for the block; cancel them after."""
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def bounded(awaitable: Awaitable[Any], timeout_s: float) -> Any:
    return await asyncio.wait_for(awaitable, timeout=timeout_s)


@contextlib.contextmanager
def sim_in_thread(units: list[Any]) -> Iterator[int]:
    """A Modbus TCP simulator on its own event loop in a thread, for code under test that
    runs its own loop (the CLI's `asyncio.run`). Yields the port; stopped on exit."""
    from edge.sim.modbus_server import SimModbusServer

    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        server = SimModbusServer(units, CLOCK)
        holder["port"] = await server.start()
        holder["stop"] = asyncio.Event()
        started.set()
        await holder["stop"].wait()
        await server.stop()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    try:
        assert started.wait(timeout=10), "simulator did not start"
        yield int(holder["port"])
    finally:
        loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(timeout=10)
        loop.close()
