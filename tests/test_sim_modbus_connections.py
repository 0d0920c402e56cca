"""The simulated Modbus TCP server with several sockets open at once: every reply carries the
unit id and transaction id of the request it answers, whichever connection or port it came on.

Raw MBAP frames over asyncio streams on 127.0.0.1, so a wrong id shows as it is on the wire
(a Modbus client would drop the reply and time out). Requests on all the sockets are written
before the server reads any, so they land in the same turn of its event loop.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from edge.sim.modbus_server import SimModbusServer
from edge.sim.sim_unit import SimUnit, StaticModel
from tests.peers import CLOCK, write_profile

PROFILE = """
id = "conn"
kind = "meter"
max_gap = 0
[defaults]
table = "input"
[points.a]
address = 0
"""
WAIT_S = 5.0
ROUNDS = 20

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def request(tid: int, unit: int) -> bytes:
    """Read input register 0 (one word)."""
    return struct.pack(">HHHBBHH", tid, 0, 6, unit, 4, 0, 1)


async def reply(stream: Stream) -> tuple[int, int, int]:
    """(transaction id, unit id, the register's word) of the next reply."""
    head = await asyncio.wait_for(stream[0].readexactly(7), WAIT_S)
    tid, _, length, unit = struct.unpack(">HHHB", head)
    body = await asyncio.wait_for(stream[0].readexactly(length - 1), WAIT_S)
    assert body[0] == 4, f"exception reply {body!r}"
    return tid, unit, struct.unpack(">H", body[2:4])[0]


@asynccontextmanager
async def connected(port: int) -> AsyncIterator[Stream]:
    stream = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), WAIT_S)
    try:
        yield stream
    finally:
        stream[1].close()
        await stream[1].wait_closed()


async def exchange(
    streams: list[Stream], asks: list[tuple[int, int]]
) -> list[tuple[int, int, int]]:
    """Write one request on each stream, then read every reply."""
    for (_, writer), (tid, unit) in zip(streams, asks, strict=True):
        writer.write(request(tid, unit))
    await asyncio.gather(*(w.drain() for _, w in streams))
    return [await reply(s) for s in streams]


def unit(n: int, profile_dir: Path) -> SimUnit:
    profile = write_profile(profile_dir, PROFILE, f"u{n}.toml")
    return SimUnit(n, profile, StaticModel({"a": 100.0 * n}))


async def test_two_connections_to_one_server_get_their_own_units(tmp_path: Path) -> None:
    server = SimModbusServer([unit(1, tmp_path), unit(2, tmp_path)], CLOCK)
    port = await server.start()
    try:
        async with AsyncExitStack() as stack:
            streams = [await stack.enter_async_context(connected(port)) for _ in range(2)]
            for k in range(ROUNDS):
                asks = [(1000 + k, 1), (2000 + k, 2)]
                got = await exchange(streams, asks)
                assert got == [(1000 + k, 1, 100), (2000 + k, 2, 200)], f"round {k}"
    finally:
        await server.stop()


async def test_two_ports_each_serve_their_own_units(tmp_path: Path) -> None:
    """Unit 1 on one port; units 2 and 3 on another, each asked on its own connection."""
    servers = [
        SimModbusServer([unit(1, tmp_path)], CLOCK),
        SimModbusServer([unit(2, tmp_path), unit(3, tmp_path)], CLOCK),
    ]
    ports = [await s.start() for s in servers]
    try:
        async with AsyncExitStack() as stack:
            streams = [
                await stack.enter_async_context(connected(p))
                for p in (ports[0], ports[1], ports[1])
            ]
            for k in range(ROUNDS):
                asks = [(10 + k, 1), (20 + k, 2), (30 + k, 3)]
                got = await exchange(streams, asks)
                assert got == [(10 + k, 1, 100), (20 + k, 2, 200), (30 + k, 3, 300)], k
    finally:
        for s in servers:
            await s.stop()
