"""A small blocking client for the CLI (no event loop needed to ask one question)."""

from __future__ import annotations

import itertools
import json
import socket
import time
from pathlib import Path
from typing import Any

from edge.local_api.protocol import MAX_REPLY_BYTES, encode

_ids = itertools.count(1)


class DaemonUnreachable(Exception):
    pass


class DaemonBusy(DaemonUnreachable):
    """The daemon runs but takes no more clients now (its queue of connections is full, or
    it answered `busy`). A DaemonUnreachable, so callers that retry on one retry on both."""


class ApiError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class LocalApiClient:
    def __init__(self, path: Path, timeout_s: float = 5.0) -> None:
        self.path = path
        self._timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    def __enter__(self) -> LocalApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self._timeout_s)
            try:
                sock.connect(str(self.path))
            except (BlockingIOError, TimeoutError) as exc:  # its accept queue is full
                sock.close()
                raise DaemonBusy(f"daemon at {self.path} is busy (too many connections)") from exc
            except OSError as exc:
                sock.close()
                raise DaemonUnreachable(f"no daemon at {self.path}: {exc.strerror or exc}") from exc
            self._sock = sock
        return self._sock

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buffer = b""

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """One request and its result. A busy daemon did not run the request, so it is
        asked again until `timeout_s` has passed; then DaemonBusy."""
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                return self._call_once(method, params)
            except DaemonBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _call_once(self, method: str, params: dict[str, Any] | None) -> Any:
        sock = self._connect()
        request_id = next(_ids)
        try:
            sock.sendall(encode({"id": request_id, "method": method, "params": params or {}}))
            reply = self._read_line(sock)
        except OSError as exc:
            self.close()
            raise DaemonUnreachable(f"daemon at {self.path} stopped answering: {exc}") from exc
        data = json.loads(reply)
        if not data.get("ok"):
            err = data.get("error", {})
            if err.get("code") == "busy":
                self.close()  # the daemon closes a refused connection
                raise DaemonBusy(f"daemon at {self.path} is busy: {err.get('message')}")
            raise ApiError(str(err.get("code", "error")), str(err.get("message", "request failed")))
        return data.get("result")

    def _read_line(self, sock: socket.socket) -> bytes:
        while b"\n" not in self._buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError("daemon closed the connection")
            self._buffer += chunk
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ConnectionResetError("reply too large")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line
