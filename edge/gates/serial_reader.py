"""A QR scanner or RFID reader on a serial line (pyserial): bytes through the strict framer
(`edge.access.reader_frames`), complete frames to the lane as credential reads.

Delivery is awaited before the next read, so a slow lane pushes back into the serial
driver's buffer instead of dropping reads. A port that fails is reopened with a capped
backoff; a refused frame is logged with its reason and length, never its content.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

import serial

from edge.access.entry import CredentialRead, ReadKind
from edge.access.reader_frames import QR_RULES, RFID_RULES, Frame, Framer, expire, feed
from edge.clock import Clock
from edge.siteconf.model import Reader, ReaderKind

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 0.1  # one blocking read; bounds how long a cancelled reader lingers
CHUNK = 4096
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
RULES = {ReaderKind.QR: QR_RULES, ReaderKind.RFID: RFID_RULES}
KINDS = {ReaderKind.QR: ReadKind.QR, ReaderKind.RFID: ReadKind.RFID}

Deliver = Callable[[CredentialRead], Awaitable[None]]


class Port(Protocol):
    def read(self, size: int) -> bytes: ...
    def close(self) -> None: ...


def open_port(reader: Reader) -> Port:
    port: Port = serial.Serial(reader.port, reader.baud, timeout=READ_TIMEOUT_S)
    return port


class SerialReader:
    def __init__(
        self,
        reader: Reader,
        lane: str,
        deliver: Deliver,
        clock: Clock,
        opener: Callable[[Reader], Port] = open_port,
    ) -> None:
        if reader.kind not in RULES or reader.port is None:
            raise ValueError(f"reader {reader.id}: not a serial reader")
        self.reader, self.lane, self.deliver, self.clock = reader, lane, deliver, clock
        self.opener = opener
        self.frames = 0
        self.refused = 0
        self.opened = 0  # times the port was opened
        self.progress = asyncio.Event()  # set on every open, frame and refusal (for watchers)

    async def run(self) -> None:
        """Read forever; reopen the port after a failure."""
        failures = 0
        while True:
            try:
                port = await asyncio.to_thread(self.opener, self.reader)
            except (OSError, serial.SerialException) as exc:
                delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
                failures += 1
                log.warning("reader_open_failed reader=%s gate=%s port=%s error=%s retry_s=%g",
                            self.reader.id, self.lane, self.reader.port, exc, delay)  # fmt: skip
                await self.clock.sleep(delay)
                continue
            failures = 0
            self.opened += 1
            self.progress.set()
            log.info("reader_open reader=%s gate=%s port=%s", self.reader.id, self.lane,
                     self.reader.port)  # fmt: skip
            try:
                await self._read(port)
            except (OSError, serial.SerialException) as exc:
                log.warning("reader_failed reader=%s gate=%s error=%s", self.reader.id,
                            self.lane, exc)  # fmt: skip
            finally:
                port.close()

    async def _read(self, port: Port) -> None:
        framer = Framer(RULES[self.reader.kind])
        while True:
            data = await asyncio.to_thread(port.read, CHUNK)
            now = self.clock.monotonic()
            if data:
                framer, out = feed(framer, data, now)
            else:
                out = []
                framer = expire(framer, now, out)
            if out:
                self.progress.set()
            for item in out:
                if isinstance(item, Frame):
                    self.frames += 1
                    kind = KINDS[self.reader.kind]
                    read = CredentialRead(kind, item.payload, self.reader.id, self.clock.wall())
                    await self.deliver(read)
                else:
                    self.refused += 1
                    log.warning("reader_frame_refused reader=%s gate=%s why=%s length=%d",
                                self.reader.id, self.lane, item.why, item.length)  # fmt: skip
