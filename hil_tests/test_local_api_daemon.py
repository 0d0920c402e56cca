"""The real daemon's local API under attack: log areas, forged lines, hostile JSON and
clients that never read. Every case is answered, and the daemon keeps serving."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from edge.cli.main import main
from edge.local_api.client import ApiError, LocalApiClient
from hil_tests.daemon_process import DaemonProcess

pytestmark = pytest.mark.hil


def raw(daemon: DaemonProcess, payload: bytes) -> dict[str, Any]:
    """Send one line, read one reply line, parsed as strict JSON (no NaN, no Infinity)."""

    def refuse(name: str) -> object:
        raise AssertionError(f"reply carries {name}, which is not JSON")

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(daemon.socket_path))
        sock.sendall(payload)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without a reply: {data!r}"
            data += chunk
    return json.loads(data, parse_constant=refuse)  # type: ignore[no-any-return]


def set_level(daemon: DaemonProcess, params: dict[str, Any]) -> tuple[str, str]:
    with LocalApiClient(daemon.socket_path) as client:
        try:
            return "ok", json.dumps(client.call("set-log-level", params))
        except ApiError as exc:
            return exc.code, str(exc)


def test_set_log_level_takes_only_the_daemons_areas(demo_daemon: DaemonProcess) -> None:
    demo_daemon.wait_cycles(1)
    forged = "edge\nlevel=error area=edge.runtime safe_state_failed part=forged"
    cases = [
        ({"area": "edge.drivers", "level": "debug"}, "ok", '"area": "edge.drivers"'),
        ({"area": "edge.made-up", "level": "debug"}, "bad_params", "not one of the daemon's"),
        ({"area": "x" * 60_000, "level": "debug"}, "bad_params", "not one of the daemon's"),
        ({"area": forged, "level": "info"}, "bad_params", "not one of the daemon's"),
        ({"area": ["x"], "level": "debug"}, "bad_params", "must be a string, got list"),
        ({"area": "edge", "level": "loud"}, "bad_params", "one of debug, info, warning"),
    ]
    for params, code, words in cases:
        got_code, text = set_level(demo_daemon, params)
        assert (got_code, words in text) == (code, True), (params, text)
    events = demo_daemon.log_events()
    assert not [e for e in events if e.startswith("level=error area=edge.runtime")], events
    assert any("log_level_changed area=edge.drivers level=debug" in e for e in events)


def test_hostile_json_is_answered(demo_daemon: DaemonProcess) -> None:
    demo_daemon.wait_cycles(1)
    deep = b'{"method":"status","params":' + b"[" * 30_000 + b"]" * 30_000 + b"}\n"
    huge = b'{"method":"status","params":{"x":' + b"7" * 5000 + b"}}\n"
    for payload in (deep, huge, b'{"id":NaN,"method":"ping"}\n'):
        reply = raw(demo_daemon, payload)
        assert (reply["ok"], reply["error"]["code"], reply["id"]) == (False, "bad_json", None)
    assert raw(demo_daemon, b'{"id":1,"method":"ping"}\n')["ok"] is True
    assert "Unhandled exception" not in demo_daemon.log()


def test_clients_that_never_read_do_not_lock_technicians_out(
    demo_daemon: DaemonProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_daemon.wait_cycles(1)
    hogs = []
    try:
        for _ in range(8):  # every slot: each asks for the status and never reads it
            hog = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            hogs.append(hog)
            hog.settimeout(10)
            hog.connect(str(demo_daemon.socket_path))
            hog.sendall(b'{"method":"status"}\n' * 3)
            hog.recv(1, socket.MSG_PEEK)  # a reply has come (peeking leaves it unread)
        assert main(["--socket", str(demo_daemon.socket_path), "status", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["daemon"]["cycles"] >= 1
    finally:
        for hog in hogs:
            hog.close()
