"""One CAN channel through python-can. The one module that imports python-can.

Frames are received by a reader thread (python-can buses block) and handed to the event loop
with `call_soon_threadsafe`, as python-can's own Notifier does; here the thread also reports
a failing bus once and stops, so the link can reopen it. Sends run in a worker thread with a
timeout: a blocking `send` on a serial adapter whose peer is not draining would otherwise
stall the loop for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from typing import Any

import can

RECV_POLL_S = 0.1  # how long the reader thread blocks in one recv; bounds close() time


class CanBusError(Exception):
    """The channel cannot be opened, has failed, or a frame could not be sent."""


class _Opening:
    """Opening a bus in a worker thread that the caller may abandon (cancelled) meanwhile:
    whoever comes second, the thread or the caller, shuts the new bus down, so no adapter is
    left half-open for python-can's `__del__` to complain about."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._abandoned = False
        self._bus: can.BusABC | None = None

    def open(self) -> can.BusABC:
        bus = can.Bus(**self._options)
        with self._lock:
            if not self._abandoned:
                self._bus = bus
                return bus
        _shut_down(bus)
        raise CanBusError("opening abandoned")

    def abandon(self) -> None:
        with self._lock:
            self._abandoned = True
            bus, self._bus = self._bus, None
        if bus is not None:
            _shut_down(bus)


def _shut_down(bus: can.BusABC) -> None:
    with contextlib.suppress(Exception):  # an unplugged adapter fails its goodbye
        bus.shutdown()


@dataclass(frozen=True, slots=True)
class Frame:
    arbitration_id: int
    data: bytes
    extended: bool
    timestamp: float


class CanBus:
    def __init__(self, interface: str, channel: str, bitrate: int | None = None) -> None:
        self.interface, self.channel, self.bitrate = interface, channel, bitrate
        self._bus: can.BusABC | None = None
        self._frames: asyncio.Queue[Frame | BaseException] = asyncio.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return f"{self.interface}:{self.channel}"

    async def open(self) -> None:
        options: dict[str, Any] = {"interface": self.interface, "channel": self.channel}
        if self.bitrate is not None:
            options["bitrate"] = self.bitrate
        if self.interface == "slcan":
            options["sleep_after_open"] = 0  # the default 2 s only helps slow USB adapters
        opening = _Opening(options)
        try:
            self._bus = await asyncio.to_thread(opening.open)
        except asyncio.CancelledError:
            opening.abandon()  # the thread may still finish opening: it then shuts it down
            raise
        except (can.CanError, OSError, ValueError) as exc:
            raise CanBusError(f"open {self.describe()} failed: {exc}") from exc
        loop = asyncio.get_running_loop()
        self._stop.clear()
        self._frames = asyncio.Queue()
        self._thread = threading.Thread(
            target=self._receive, args=(self._bus, loop), name=f"can-rx {self.channel}", daemon=True
        )
        self._thread.start()

    def _receive(self, bus: can.BusABC, loop: asyncio.AbstractEventLoop) -> None:
        while not self._stop.is_set():
            try:
                msg = bus.recv(RECV_POLL_S)
            except Exception as exc:  # any adapter failure ends this reader; the link reopens
                with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                    loop.call_soon_threadsafe(self._frames.put_nowait, exc)
                return
            if msg is None or msg.is_error_frame or msg.is_remote_frame:
                continue
            frame = Frame(msg.arbitration_id, bytes(msg.data), msg.is_extended_id, msg.timestamp)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._frames.put_nowait, frame)

    async def recv(self) -> Frame:
        item = await self._frames.get()
        if isinstance(item, BaseException):
            raise CanBusError(f"{self.describe()} failed: {item}") from item
        return item

    async def send(
        self, arbitration_id: int, data: bytes, extended: bool, timeout_s: float = 0.2
    ) -> None:
        bus = self._bus
        if bus is None:
            raise CanBusError(f"{self.describe()} is not open")
        msg = can.Message(arbitration_id=arbitration_id, data=data, is_extended_id=extended)
        try:
            await asyncio.to_thread(bus.send, msg, timeout_s)
        except (can.CanError, OSError, ValueError) as exc:
            raise CanBusError(
                f"send 0x{arbitration_id:X} on {self.describe()} failed: {exc}"
            ) from exc

    async def close(self) -> None:
        self._stop.set()
        thread, bus = self._thread, self._bus
        self._thread = self._bus = None
        # A thread of its own, not the executor: an executor job cancelled before it starts
        # never runs, and an adapter left open is shut down again by python-can's __del__.
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def work() -> None:
            _close_blocking(thread, bus)
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(_resolve, done)

        threading.Thread(target=work, name=f"can-close {self.channel}", daemon=True).start()
        await done


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _close_blocking(thread: threading.Thread | None, bus: can.BusABC | None) -> None:
    if thread is not None:
        thread.join(2 * RECV_POLL_S + 1.0)
    if bus is not None:
        _shut_down(bus)
