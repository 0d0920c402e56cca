"""sd_notify: messages arrive where systemd listens; a manager that stops reading never
blocks the daemon; no NOTIFY_SOCKET means a silent no-op."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from edge.sdnotify import Notifier


def test_messages_arrive(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    n = Notifier(str(tmp_path / "notify"))
    n.ready("normal: grid 1/2 kW")
    n.watchdog("normal")
    assert listener.recv(1024) == b"READY=1\nSTATUS=normal: grid 1/2 kW"
    assert listener.recv(1024) == b"WATCHDOG=1\nSTATUS=normal"
    n.close()
    listener.close()


def test_a_manager_that_stops_reading_never_blocks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify"))
    n = Notifier(str(tmp_path / "notify"))
    for _ in range(20_000):  # far more than a datagram queue holds; would hang if blocking
        n.watchdog("x" * 200)
    assert sum("sd_notify_failed" in r.getMessage() for r in caplog.records) == 1
    n.close()
    listener.close()


def test_without_notify_socket_it_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    n = Notifier()
    assert not n.enabled
    n.ready("x")  # nothing to assert but that it does not raise
