"""The local API answers bad input with errors and keeps serving everyone else."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.local_api.client import ApiError, DaemonBusy, DaemonUnreachable, LocalApiClient
from edge.local_api.protocol import MAX_REQUEST_BYTES
from edge.local_api.server import LocalApiServer, SocketInUse
from tests.polling import wait_until


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


def strict_json(line: bytes) -> dict[str, object]:
    """Parse as strict JSON: NaN and Infinity are not JSON."""

    def refuse(name: str) -> object:
        raise AssertionError(f"reply carries {name}, which is not JSON")

    return json.loads(line, parse_constant=refuse)  # type: ignore[no-any-return]


async def raw_lines(path: Path, payload: bytes) -> list[dict[str, object]]:
    reader, writer = await asyncio.open_unix_connection(str(path), limit=2**20)
    writer.write(payload)
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), timeout=5)
    writer.close()
    return [strict_json(line) for line in data.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("payload", "code", "words"),
    [
        (
            b'{"method":"echo","params":' + b"[" * 30_000 + b"]" * 30_000 + b"}\n",
            "bad_json",
            "nested",
        ),
        (b'{"method":"echo","params":{"x":' + b"9" * 5000 + b"}}\n", "bad_json", "4300"),
        (b'{"id":NaN,"method":"echo"}\n', "bad_json", "NaN"),
        (b'{"id":1,"method":"echo","params":{"x":-Infinity}}\n', "bad_json", "Infinity"),
        (b'{"id":[1],"method":"echo"}\n', "bad_request", "'id'"),
        (b'{"id":{"a":1},"method":"echo"}\n', "bad_request", "'id'"),
    ],
)
async def test_hostile_json_gets_an_error_reply_not_a_closed_connection(
    server: LocalApiServer, payload: bytes, code: str, words: str
) -> None:
    replies = await raw_lines(server.path, payload + b'{"id":2,"method":"echo"}\n')
    assert len(replies) == 2  # the error, then the next request on the same connection
    assert replies[0]["id"] is None
    assert replies[0]["error"]["code"] == code  # type: ignore[index]
    assert words in replies[0]["error"]["message"]  # type: ignore[index]
    assert replies[1] == {"id": 2, "ok": True, "result": {}}


async def test_bad_params_are_named_and_non_finite_results_go_out_as_null(
    server: LocalApiServer,
) -> None:
    def picky(p: dict[str, object]) -> object:
        if "level" in p:
            raise ValueError("level 'loud' is not one of debug, info")
        return {"ratio": float("nan"), "limit": [float("inf"), 1.5]}

    server.register("picky", picky)
    replies = await raw_lines(
        server.path,
        b'{"id":1,"method":"picky","params":{"level":"loud"}}\n{"id":2,"method":"picky"}\n',
    )
    assert replies[0]["error"] == {  # a usage error, not `internal`
        "code": "bad_params",
        "message": "picky: level 'loud' is not one of debug, info",
    }
    assert replies[1]["result"] == {"ratio": None, "limit": [None, 1.5]}


async def test_clients_that_never_read_give_their_slots_up(tmp_path: Path) -> None:
    srv = LocalApiServer(tmp_path / "edge.sock", max_clients=3, unread_grace_s=0.0)
    srv.register("echo", lambda p: p)
    await srv.start()
    try:
        hogs = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(3)]
        for hog in hogs:  # each asks and never reads the reply (not even into a buffer)
            hog.connect(str(srv.path))
            hog.sendall(b'{"method":"echo","params":{"pad":"' + b"x" * 1000 + b'"}}\n')
        await wait_until(lambda: srv.stats["requests"] == 3)
        readers = []
        for _ in range(3):  # each newcomer is served, and stays: a hog gave its slot up
            reader, writer = await asyncio.open_unix_connection(str(srv.path))
            writer.write(b'{"method":"echo"}\n')
            assert json.loads(await asyncio.wait_for(reader.readline(), 5))["ok"] is True
            readers.append(writer)
        assert srv.stats["dropped_clients"] == 3
        # Clients that read what they are sent keep their slots: the next one is refused.
        assert (await exchange(srv.path, b'{"method":"echo"}\n'))[0]["error"]["code"] == "busy"  # type: ignore[index]
        for closing in [*hogs, *readers]:
            closing.close()
    finally:
        await srv.stop()


async def test_a_client_that_takes_no_output_is_dropped(tmp_path: Path) -> None:
    srv = LocalApiServer(tmp_path / "edge.sock", max_clients=2, write_timeout_s=0.5)
    srv.register("echo", lambda p: p)
    await srv.start()
    try:
        _, hog = await asyncio.open_unix_connection(str(srv.path))
        request = b'{"method":"echo","params":{"pad":"' + b"x" * 60_000 + b'"}}\n'
        hog.write(request * 100)  # 6 MB of replies that nobody reads
        await wait_until(lambda: srv.stats["dropped_clients"] == 1, 20)
        assert (await exchange(srv.path, b'{"method":"echo"}\n'))[0]["ok"] is True
        hog.close()
    finally:
        await srv.stop()


def test_blocking_client_says_busy_not_unreachable(tmp_path: Path) -> None:
    """A full accept queue (a flood) and a `busy` reply both read as busy."""
    path = tmp_path / "full.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)  # never accepts: the queue fills at once
    queued = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            queued.append(s)
            try:
                s.connect(str(path))
            except BlockingIOError:
                break
        else:
            pytest.fail("the accept queue never filled")
        with pytest.raises(DaemonBusy, match="busy"):
            LocalApiClient(path, timeout_s=0.3).call("status")
    finally:
        for s in queued:
            s.close()
        listener.close()


async def test_busy_reply_raises_daemon_busy(server: LocalApiServer) -> None:
    held = [await asyncio.open_unix_connection(str(server.path)) for _ in range(3)]
    await wait_until(lambda: len(server._clients) == 3)

    def ask() -> None:
        with pytest.raises(DaemonBusy, match="too many clients"):
            LocalApiClient(server.path, timeout_s=1.0).call("echo")

    await asyncio.to_thread(ask)
    for _, w in held:
        w.close()
