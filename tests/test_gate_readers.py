"""Serial QR/RFID readers over a socat pty pair: strict frames reach the lane, malformed and
oversized ones do not, and the reader carries on after them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import serial

from edge.access.entry import CredentialRead, ReadKind
from edge.clock import SystemClock
from edge.gates.serial_reader import SerialReader
from edge.siteconf.model import Reader, ReaderKind
from hil_tests.conftest import socat_pair
from tests.peers import running


async def test_rfid_frames_over_a_pty_pair_good_bad_and_oversized(tmp_path: Path) -> None:
    async with socat_pair(tmp_path) as pair:
        got: list[CredentialRead] = []
        arrived = asyncio.Event()

        async def deliver(read: CredentialRead) -> None:
            got.append(read)
            arrived.set()

        reader = SerialReader(
            Reader("rfid-1", ReaderKind.RFID, port=pair.driver), "entry-1", deliver, SystemClock()
        )
        other_end = serial.Serial(pair.peer, 9600, timeout=1)
        try:
            async with running(reader.run):
                async with asyncio.timeout(10):
                    while not reader.opened:  # bytes sent before the port is open are lost
                        reader.progress.clear()
                        await reader.progress.wait()
                frames = [
                    b"\x0204A1B2C3\x03\r\n",
                    b"04A1\x00B2C3\r\n",  # a NUL inside
                    b"' OR 1=1; --\r\n",  # not a UID
                    b"F" * 65_536 + b"\r\n",  # oversized
                    b"0011223344556677\xff\r\n",  # non-ASCII
                    b"04a1b2c3d4e5f6\r\n",
                ]
                await asyncio.to_thread(other_end.write, b"".join(frames))
                async with asyncio.timeout(20):
                    while len(got) < 2:
                        arrived.clear()
                        await arrived.wait()
                    while reader.refused < 4:  # the refusals are counted as they are parsed
                        reader.progress.clear()
                        await reader.progress.wait()
        finally:
            other_end.close()
    assert [(r.kind, r.value, r.reader) for r in got] == [
        (ReadKind.RFID, "04A1B2C3", "rfid-1"),
        (ReadKind.RFID, "04a1b2c3d4e5f6", "rfid-1"),
    ]
    assert reader.refused == 4
