"""The local API answers bad input with errors and keeps serving everyone else."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient
from edge.local_api.protocol import MAX_REQUEST_BYTES
from edge.local_api.server import LocalApiServer, SocketInUse


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LocalApiServer]:
    srv = LocalApiServer(tmp_path / "run" / "edge.sock", idle_timeout_s=5.0, max_clients=3)
    srv.register("echo", lambda p: p)

    def boom(p: dict[str, object]) -> None:
        raise RuntimeError("handler broke")

    srv.register("boom", boom)
    await srv.start()
    yield srv
    await srv.stop()


async def exchange(path: Path, payload: bytes) -> list[dict[str, object]]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=2**20)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    return [json.loads(line) for line in data.splitlines() if line.strip()]


async def test_socket_mode_is_0660(server: LocalApiServer) -> None:
    assert server.path.stat().st_mode & 0o777 == 0o660


async def test_good_request_and_pipelined_requests(server: LocalApiServer) -> None:
    replies = await exchange(
        server.path, b'{"id":1,"method":"echo","params":{"a":1}}\n{"id":2,"method":"echo"}\n'
    )
    assert replies == [
        {"id": 1, "ok": True, "result": {"a": 1}},
        {"id": 2, "ok": True, "result": {}},
    ]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"this is not json\n", "bad_json"),
        (b"\xff\xfe\x00garbage\n", "bad_json"),
        (b"[1,2,3]\n", "bad_request"),
        (b'{"method": 5}\n', "bad_request"),
        (b'{"method": "echo", "params": [1]}\n', "bad_request"),
        (b'{"id": 9, "method": "nope"}\n', "unknown_method"),
        (b'{"id": 9, "method": "boom"}\n', "internal"),
    ],
)
async def test_bad_requests_get_error_replies(
    server: LocalApiServer, payload: bytes, code: str
) -> None:
    replies = await exchange(server.path, payload)
    assert len(replies) == 1
    assert replies[0]["ok"] is False
    assert replies[0]["error"]["code"] == code  # type: ignore[index]
    # ...and the server still serves the next client.
    assert (await exchange(server.path, b'{"method":"echo"}\n'))[0]["ok"] is True


async def test_oversized_request_is_refused_and_connection_closed(server: LocalApiServer) -> None:
    replies = await exchange(
        server.path, b'{"method":"echo","params":{"x":"' + b"a" * (MAX_REQUEST_BYTES * 2) + b'"}}\n'
    )
    assert replies[0]["error"]["code"] == "too_large"  # type: ignore[index]
    assert (await exchange(server.path, b'{"method":"echo"}\n'))[0]["ok"] is True


async def test_half_closed_and_silent_clients_do_not_block_others(server: LocalApiServer) -> None:
    _, w1 = await asyncio.open_unix_connection(str(server.path))
    w1.write(b'{"method":"ec')  # half a request, then half-close
    w1.write_eof()
    _, w2 = await asyncio.open_unix_connection(str(server.path))  # connects and says nothing
    replies = await exchange(server.path, b'{"method":"echo"}\n')
    assert replies[0]["ok"] is True
    w1.close()
    w2.close()


async def test_too_many_clients_get_busy(server: LocalApiServer) -> None:
    held = [await asyncio.open_unix_connection(str(server.path)) for _ in range(3)]
    await asyncio.sleep(0.05)
    replies = await exchange(server.path, b'{"method":"echo"}\n')
    assert replies[0]["error"]["code"] == "busy"  # type: ignore[index]
    for _, w in held:
        w.close()
    await asyncio.sleep(0.05)
    assert (await exchange(server.path, b'{"method":"echo"}\n'))[0]["ok"] is True
    assert server.stats["rejected_clients"] == 1


async def test_second_server_on_a_live_socket_refuses(server: LocalApiServer) -> None:
    with pytest.raises(SocketInUse):
        await LocalApiServer(server.path).start()


async def test_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "edge.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: as after a crash
    srv = LocalApiServer(path)
    await srv.start()
    await srv.stop()
    assert not path.exists()


async def test_blocking_client_round_trip_and_errors(
    server: LocalApiServer, tmp_path: Path
) -> None:
    def use_client() -> None:
        with LocalApiClient(server.path) as client:
            assert client.call("echo", {"b": 2}) == {"b": 2}
            with pytest.raises(ApiError, match="unknown method"):
                client.call("missing")
        with pytest.raises(DaemonUnreachable):
            LocalApiClient(tmp_path / "absent.sock").call("echo")

    await asyncio.to_thread(use_client)
