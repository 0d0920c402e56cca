"""The MQTT link's flow control and its reading of a broker's DISCONNECT.

The peer is a scripted MQTT 5 broker on 127.0.0.1 speaking the bytes of the spec: the
mosquitto packaged here (2.0.11) closes a taken-over connection without the DISCONNECT
packet newer brokers send, so it cannot show reason code 0x8E."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from edge.clock import SimClock
from edge.uplink.inbox import CommandInbox
from edge.uplink.mqtt_adapter import LinkSettings, Message, MqttLink

CONNACK_V5 = bytes([0x20, 0x03, 0x00, 0x00, 0x00])  # session not present, success, no props
TAKEN_OVER = bytes([0xE0, 0x01, 0x8E])  # DISCONNECT, reason 0x8E "Session taken over"


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    header = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return header, await reader.readexactly(length)


def receive_maximum(connect: bytes) -> int | None:
    """Property 0x21 of a v5 CONNECT's variable header (None when absent)."""
    props_at = 2 + 4 + 1 + 1 + 2  # name length + "MQTT" + level + flags + keepalive
    length, pos = connect[props_at], props_at + 1  # short property lists: one length byte
    end = pos + length
    while pos < end:
        ident = connect[pos]
        if ident == 0x21:
            return int.from_bytes(connect[pos + 1 : pos + 3], "big")
        pos += 1 + (4 if ident == 0x11 else 2)  # session expiry is 4 bytes; the rest here 2
    return None


@asynccontextmanager
async def scripted_broker(seen: list[bytes]) -> AsyncIterator[int]:
    """Accepts one connection: CONNACK, then DISCONNECT 0x8E (another client took over)."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _, connect = await read_packet(reader)
        seen.append(connect)
        writer.write(CONNACK_V5)
        await writer.drain()
        writer.write(TAKEN_OVER)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_session_takeover_is_named_and_receive_maximum_is_sent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[bytes] = []
    clock = SimClock()  # the reconnect backoff waits on it: no second attempt unless stepped
    async with scripted_broker(seen) as port:
        settings = LinkSettings(f"mqtt://127.0.0.1:{port}", "hub-1", receive_max=64)
        link = MqttLink(settings, clock)
        dropped = asyncio.Event()
        link.on_disconnected = dropped.set
        with caplog.at_level(logging.WARNING, logger="edge.uplink.mqtt_adapter"):
            task = asyncio.create_task(link.run())
            try:
                async with asyncio.timeout(20):
                    await dropped.wait()
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    assert receive_maximum(seen[0]) == 64
    assert "session taken over" in link.last_error
    assert "session taken over" in caplog.text
    assert "Unspecified error" not in caplog.text


class FakeLink:
    def __init__(self) -> None:
        self.calls: list[bool] = []

    def pause_reading(self, paused: bool) -> None:
        self.calls.append(paused)


def msg(i: int) -> Message:
    return (1, "p/cmd/ping", str(i).encode(), i, 1)


async def test_inbox_keeps_every_message_and_pushes_back_instead() -> None:
    link = FakeLink()
    inbox = CommandInbox(8, link)
    for i in range(12):  # more than it holds: one socket read can overshoot; none is dropped
        inbox.put(msg(i))
    assert len(inbox) == 12
    assert link.calls
    assert all(link.calls)  # reading paused at 8 (and again per extra put)
    got = [await inbox.get() for _ in range(8)]
    assert link.calls[-1] is False  # resumed once down to half
    got += [await inbox.get() for _ in range(4)]
    assert [m[3] for m in got] == list(range(12))  # in order
