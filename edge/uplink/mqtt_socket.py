"""Drive one connected paho client's socket from the asyncio event loop.

paho's documented external-loop mode: the loop calls `loop_read` when the socket is readable,
`loop_write` while paho has bytes to send, and `loop_misc` about once a second (PINGREQ, and
dropping a connection whose PINGRESP is late). Measured: with paho's own network thread the
drain reached only about 45 % of raw paho, the GIL ping-pong between two busy threads costing
more than the work (docs/uplink.md).

Reading can be paused (the command inbox is full): TCP then pushes back on the broker, which
is how MQTT 3.1.1 bounds what it may send. The client is typed by the few methods used here,
so this module does not import paho (the adapter stays the one place that does).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, Protocol

from edge.clock import Clock


class PahoSocket(Protocol):
    """The part of `paho.mqtt.client.Client` the event loop drives."""

    def socket(self) -> Any: ...
    def want_write(self) -> bool: ...
    def loop_read(self, max_packets: int = 1) -> Any: ...
    def loop_write(self) -> Any: ...
    def loop_misc(self) -> Any: ...


class SocketDriver:
    """One per connection: registers the socket with the loop, forgets it when paho closes it."""

    def __init__(self, client: Any, loop: asyncio.AbstractEventLoop, clock: Clock) -> None:
        self.client: PahoSocket = client
        self.loop = loop
        self.clock = clock
        self.paused = False
        self._misc: asyncio.Task[None] | None = None
        client.on_socket_register_write = lambda c, u, s: loop.add_writer(s, client.loop_write)
        client.on_socket_unregister_write = lambda c, u, s: loop.remove_writer(s)
        client.on_socket_close = lambda c, u, s: self.forget(s)

    def attach(self) -> bool:
        """Start driving the socket; False when paho has already closed it."""
        sock = self.client.socket()
        if sock is None:
            return False
        self.loop.add_reader(sock, self._readable)
        if self.client.want_write():
            self.loop.add_writer(sock, self.client.loop_write)
        self._misc = self.loop.create_task(self._keepalive())
        return True

    def pause_reading(self, paused: bool) -> bool:
        """True when this call changed whether the socket is read."""
        sock = self.client.socket()
        if sock is None or paused == self.paused:
            return False
        self.paused = paused
        if paused:
            self.loop.remove_reader(sock)
        else:
            self.loop.add_reader(sock, self._readable)
        return True

    def _readable(self) -> None:
        client = self.client
        client.loop_read()
        sock = client.socket()
        # TLS may hold decrypted bytes the selector cannot see: read them now.
        while isinstance(sock, ssl.SSLSocket) and sock.pending() and client.socket() is sock:
            client.loop_read()

    async def _keepalive(self) -> None:
        while self.client.socket() is not None:
            self.client.loop_misc()  # PINGREQ when due; drops a connection whose PINGRESP is late
            await self.clock.sleep(1.0)

    def forget(self, sock: Any) -> None:
        with contextlib.suppress(Exception):
            self.loop.remove_reader(sock)
        with contextlib.suppress(Exception):
            self.loop.remove_writer(sock)

    def close(self) -> None:
        """Stop driving; close the socket if paho has not (no CONNACK, or cancelled)."""
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        sock = self.client.socket()
        if sock is not None:
            self.forget(sock)
            with contextlib.suppress(Exception):
                sock.close()
