"""The local API server: bounded, defensive, and unable to disturb the daemon.

Requests are size-limited, clients are counted, idle clients are dropped, and every handler
error becomes an error reply: a technician's typo or a fuzzer can never stop control.
A client's unread output is bounded: one that takes none of it for WRITE_TIMEOUT_S is
dropped, and when every slot is taken a client that left a reply unread gives up its slot
to the newcomer. Handlers raise ValueError for bad params (the cloud commands' convention).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import inspect
import logging
import os
import pwd
import socket
import stat
import struct
import termios
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.local_api.protocol import (
    MAX_CLIENTS,
    MAX_REQUEST_BYTES,
    WRITE_TIMEOUT_S,
    ProtocolError,
    parse_request,
    reply_error,
    reply_ok,
)

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any | Awaitable[Any]]


class SocketInUse(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is on the other end of a connection, as the kernel says (SO_PEERCRED)."""

    pid: int
    uid: int
    gid: int

    @property
    def user(self) -> str:
        try:
            return pwd.getpwuid(self.uid).pw_name
        except KeyError:
            return f"uid:{self.uid}"


# Each connection is served in its own task, so a handler sees its own caller here.
_peer: ContextVar[Peer | None] = ContextVar("local_api_peer", default=None)


def current_peer() -> Peer | None:
    """The caller of the request being handled (None outside a request or off Linux)."""
    return _peer.get()


def peer_of(writer: asyncio.StreamWriter) -> Peer | None:
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None:
        return None
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return None
    return Peer(*struct.unpack("3i", raw))


class LocalApiServer:
    def __init__(
        self,
        path: Path,
        *,
        idle_timeout_s: float = 60.0,
        max_clients: int = MAX_CLIENTS,
        write_timeout_s: float = WRITE_TIMEOUT_S,
        unread_grace_s: float = 1.0,
    ) -> None:
        self.path = path
        self._idle_timeout_s = idle_timeout_s
        self._max_clients = max_clients
        self._write_timeout_s = write_timeout_s
        self._unread_grace_s = unread_grace_s  # a reply younger than this may be in transit
        self._handlers: dict[str, Handler] = {}
        self._server: asyncio.AbstractServer | None = None
        self._clients: dict[asyncio.Task[Any], _Client] = {}
        self.stats = {"requests": 0, "errors": 0, "rejected_clients": 0, "dropped_clients": 0}

    def register(self, method: str, handler: Handler) -> None:
        if method in self._handlers:
            raise ValueError(f"local API method {method} registered twice")
        self._handlers[method] = handler

    @property
    def methods(self) -> list[str]:
        return sorted(self._handlers)

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        self._remove_stale_socket()
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.path), limit=MAX_REQUEST_BYTES
        )
        os.chmod(self.path, 0o660)  # the daemon's user and the technicians' group
        log.info("local_api_listening socket=%s", self.path)

    def _remove_stale_socket(self) -> None:
        if not self.path.exists():
            return
        if not stat.S_ISSOCK(self.path.stat().st_mode):
            raise SocketInUse(f"{self.path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(self.path))
        except OSError:
            self.path.unlink()  # nobody listens: left over from a crash
            return
        finally:
            probe.close()
        raise SocketInUse(f"another daemon is listening on {self.path}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Closing the transports ends each conversation normally; cancelling the handler
            # tasks instead makes asyncio log spurious errors.
            for client in list(self._clients.values()):
                client.writer.close()
            if self._clients:
                await asyncio.wait(list(self._clients), timeout=1.0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=1.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        try:
            if len(self._clients) >= self._max_clients and not self._evict_a_non_reader():
                await self._refuse(reader, writer)
                return
            client = self._clients[task] = _Client(writer)
            _peer.set(peer_of(writer))
            await self._conversation(reader, client)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        except Exception:  # a bug here must cost one client, never the loop's error log spam
            log.exception("local_api_client_failed")
        finally:
            self._clients.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), timeout=1.0)

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["rejected_clients"] += 1
        writer.write(reply_error(None, "busy", f"too many clients (max {self._max_clients})"))
        await asyncio.wait_for(writer.drain(), timeout=self._write_timeout_s)
        # Take what the client already sent, or closing would reset the connection
        # before it reads the reply.
        with contextlib.suppress(TimeoutError, ValueError, asyncio.LimitOverrunError):
            await asyncio.wait_for(reader.read(MAX_REQUEST_BYTES), timeout=0.2)

    def _evict_a_non_reader(self) -> bool:
        """Drop one client that has left a reply unread past the grace; True if one went."""
        now = time.monotonic()
        for client in self._clients.values():
            if now - client.wrote_at >= self._unread_grace_s and client.unread_bytes() > 0:
                self._dropped(client, "unread_reply")
                return True
        return False

    async def _conversation(self, reader: asyncio.StreamReader, client: _Client) -> None:
        while True:
            try:
                line = await asyncio.wait_for(reader.readline(), timeout=self._idle_timeout_s)
            except (ValueError, asyncio.LimitOverrunError):
                self.stats["errors"] += 1
                await self._send(
                    client,
                    reply_error(None, "too_large", f"request exceeds {MAX_REQUEST_BYTES} bytes"),
                )
                # The stream is out of step: close rather than guess where the next line starts.
                return
            if not line:
                return  # half-closed or done
            if not line.strip():
                continue
            await self._send(client, await self._answer(line))

    async def _send(self, client: _Client, data: bytes) -> None:
        """Write one reply; a client that takes none of its output in time is dropped."""
        client.writer.write(data)
        client.wrote_at = time.monotonic()
        try:
            await asyncio.wait_for(client.writer.drain(), timeout=self._write_timeout_s)
        except TimeoutError:
            self._dropped(client, "not_reading")
            raise

    def _dropped(self, client: _Client, reason: str) -> None:
        client.writer.transport.abort()
        self.stats["dropped_clients"] += 1
        total = self.stats["dropped_clients"]
        if total == 1 or total % 100 == 0:  # a flood of them must not flood the log
            log.info("local_api_client_dropped reason=%s dropped_total=%d", reason, total)

    async def _answer(self, line: bytes) -> bytes:
        self.stats["requests"] += 1
        try:
            request = parse_request(line)
        except ProtocolError as exc:
            self.stats["errors"] += 1
            return reply_error(None, exc.code, str(exc))
        handler = self._handlers.get(request.method)
        if handler is None:
            self.stats["errors"] += 1
            return reply_error(
                request.id,
                "unknown_method",
                f"unknown method {request.method[:60]!r} (known: {', '.join(self.methods)})",
            )
        try:
            result = handler(request.params)
            if inspect.isawaitable(result):
                result = await result
        except ProtocolError as exc:
            self.stats["errors"] += 1
            return reply_error(request.id, exc.code, str(exc))
        except ValueError as exc:  # the caller's mistake, named by the handler
            self.stats["errors"] += 1
            return reply_error(request.id, "bad_params", f"{request.method}: {exc}")
        except Exception as exc:
            self.stats["errors"] += 1
            log.exception("local_api_handler_failed method=%s", request.method)
            return reply_error(request.id, "internal", f"{request.method} failed: {exc}")
        try:
            return reply_ok(request.id, result)
        except (ValueError, RecursionError):
            self.stats["errors"] += 1
            log.exception("local_api_reply_unencodable method=%s", request.method)
            return reply_error(request.id, "internal", f"{request.method}: reply not encodable")


class _Client:
    """One connection: its writer and when it was last given output."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.wrote_at = time.monotonic()

    def unread_bytes(self) -> int:
        """Output the peer has not read: asyncio's buffer plus the kernel's send queue."""
        queued = self.writer.transport.get_write_buffer_size()
        sock = self.writer.get_extra_info("socket")
        if sock is None:
            return queued
        outq = array.array("i", [0])
        with contextlib.suppress(OSError):  # Linux answers TIOCOUTQ (SIOCOUTQ) on Unix sockets
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, outq, True)
        return queued + outq[0]
