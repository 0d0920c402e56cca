"""Run the real daemon as a child process, with a datagram socket posing as systemd."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient


class NotifyListener:
    """Binds NOTIFY_SOCKET like systemd does and collects what the daemon sends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []

    def collect(self, until: float) -> None:
        while time.monotonic() < until:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), data.decode()))

    def wait_for(self, field: str, timeout_s: float) -> float | None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, msg in self.messages:
                if field in msg.split("\n"):
                    return at
            self.collect(min(deadline, time.monotonic() + 0.2))
        return None

    def close(self) -> None:
        self.sock.close()


class DaemonProcess:
    def __init__(self, config: Path, workdir: Path, *, notify: bool = True) -> None:
        self.socket_path = workdir / "edge.sock"
        self.log_path = workdir / "daemon.log"
        self.notify = NotifyListener(workdir / "notify.sock") if notify else None
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.notify:
            env["NOTIFY_SOCKET"] = str(self.notify.path)
        self._log = self.log_path.open("wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "edge",
                "run",
                "--config",
                str(config),
                "--socket",
                str(self.socket_path),
                "--state-dir",
                str(workdir / "state"),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout_s: float = 15.0
    ) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with LocalApiClient(self.socket_path, timeout_s=3.0) as client:
                    return client.call(method, params)
            except (DaemonUnreachable, ApiError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.1)

    def wait_cycles(self, n: int, timeout_s: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            status: dict[str, Any] = self.call("status")
            if status["daemon"]["cycles"] >= n or time.monotonic() > deadline:
                return status
            time.sleep(0.2)

    def terminate(self, timeout_s: float = 10.0) -> tuple[int, float]:
        """SIGTERM and wait; (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=5)
        return code, time.monotonic() - started

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def log_events(self) -> list[str]:
        return [line for line in self.log().splitlines() if "level=" in line]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        self._log.close()
        if self.notify:
            self.notify.close()


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=str)
