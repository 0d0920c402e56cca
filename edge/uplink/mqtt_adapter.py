"""The broker connection, behind paho-mqtt 2.x: the only module that imports paho.

One paho client per connection attempt: a dropped connection takes its client (and any
message paho still holds) with it, so paho's offline queue is never used and the outbox
alone decides what is resent. A PUBACK counts only when its reason code is a success
(paho calls `on_publish` for failure codes too).

Threads: the blocking part (TCP connect, TLS handshake, CONNECT) runs in a worker thread;
after that the event loop drives paho's socket (`mqtt_socket`). Callbacks still reach asyncio
code only through `call_soon_threadsafe`, so they are safe from whichever thread paho calls
them (the worker during connect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge.clock import Clock, SystemClock
from edge.uplink.link_settings import (
    LinkSettings,
    backoff_delay,
    disconnect_reason,
    parse_broker,
    tls_context,
)
from edge.uplink.mqtt_socket import SocketDriver

log = logging.getLogger(__name__)
__all__ = ["Ack", "LinkError", "LinkSettings", "Message", "MqttLink"]

Ack = tuple[int, int, int, str]  # connection number, mid, reason code, reason name
Message = tuple[int, str, bytes, int, int]  # connection number, topic, payload, mid, qos


class LinkError(Exception):
    pass


class MqttLink:
    def __init__(self, settings: LinkSettings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.host, self.port, self.tls = parse_broker(settings.broker)
        self.state = "disconnected"
        self.last_error = ""
        self.connections = 0  # also the number of the current connection
        self.connected = asyncio.Event()
        self.window = settings.max_inflight
        self.read_pauses = 0  # how often reading was paused (see `pause_reading`)
        self.on_acks: Callable[[list[Ack]], None] = lambda acks: None
        self.on_message: Callable[[Message], None] = lambda msg: None
        self.on_connected: Callable[[], None] = lambda: None
        self.on_disconnected: Callable[[], None] = lambda: None
        self._client: mqtt.Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._acks: list[Ack] = []
        self._ack_scheduled = False
        self._connack: asyncio.Future[tuple[bool, str, int]] | None = None
        self._closed: asyncio.Event = asyncio.Event()
        self._closed_why = ""
        self._closing = False
        self._driver: SocketDriver | None = None
        self._loop_thread = 0

    @property
    def _tls_hint(self) -> str:
        # TLS brokers close without a CONNACK when they reject the client certificate.
        return " (TLS: client certificate refused?)" if self.tls else ""

    @property
    def where(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    # --- the connection manager task ----------------------------------------------------
    async def run(self) -> None:
        """Connect, stay connected, reconnect with jittered backoff; forever (cancel stops)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        attempt = 0
        while True:
            try:
                await self._session()
                attempt = 0
            except (LinkError, OSError, ssl.SSLError) as exc:
                why = f"mqtt: cannot connect: {type(exc).__name__}: {exc} ({self.where})"
                self._note_error(str(exc) if isinstance(exc, LinkError) else why)
            delay = backoff_delay(
                attempt,
                self.settings.backoff_min_s,
                self.settings.backoff_max_s,
                random.random(),  # noqa: S311 (jitter, not secrecy)
            )
            attempt += 1
            await self.clock.sleep(delay)

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.warning("uplink_connect_failed error=%s", message)
        self.last_error = message
        self.state = "disconnected"

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        self.connections += 1
        number = self.connections
        client = self._new_client(number)
        self.state = "connecting"
        self._connack = loop.create_future()
        self._closed = asyncio.Event()
        self._closed_why = f"mqtt: connection lost ({self.where})"
        try:
            await loop.run_in_executor(None, self._connect, client)
            self._driver = SocketDriver(client, loop, self.clock)
            if not self._driver.attach():
                raise LinkError(
                    f"mqtt: connection closed during connect{self._tls_hint} ({self.where})"
                )
            ok, reason, receive_max = await self._await_connack()
            if not ok:
                raise LinkError(f"mqtt: broker refused the connection: {reason} ({self.where})")
            self._up(client, receive_max)
            await self._closed.wait()
        finally:
            await self._down()

    async def _await_connack(self) -> tuple[bool, str, int]:
        """The CONNACK, or a LinkError after `connect_timeout_s` of the link's clock."""
        assert self._connack is not None
        timer = asyncio.ensure_future(self.clock.sleep(self.settings.connect_timeout_s))
        try:
            await asyncio.wait((self._connack, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if not self._connack.done():
            raise LinkError(f"mqtt: no CONNACK within the timeout ({self.where})")
        return self._connack.result()

    def _connect(self, client: mqtt.Client) -> None:
        """Blocking (TCP + TLS handshake + CONNECT): runs in a worker thread."""
        s = self.settings
        if s.mqtt_version == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry_s
            if s.receive_max:  # the broker sends no more unacknowledged messages than this
                props.ReceiveMaximum = s.receive_max
            client.connect(self.host, self.port, s.keepalive_s, clean_start=False, properties=props)
        else:
            client.connect(self.host, self.port, s.keepalive_s)

    def _up(self, client: mqtt.Client, receive_max: int) -> None:
        self._client = client
        self.window = max(1, min(self.settings.max_inflight, receive_max))
        for topic in self.settings.subscriptions:
            client.subscribe(topic, qos=1)
        self.state = "connected"
        after = f" after_error={self.last_error}" if self.last_error else ""
        log.info("uplink_connected broker=%s%s", self.where, after)
        self.last_error = ""
        self.connected.set()
        self.on_connected()

    async def _down(self) -> None:
        was_up = self.connected.is_set()
        self.connected.clear()
        self._client = None
        self.state = "disconnected"
        if self._driver is not None:
            self._driver.close()
            self._driver = None
        if was_up and self._closing:
            self.last_error = ""
            log.info("uplink_closed broker=%s", self.where)
        elif was_up:
            self.last_error = self._closed_why
            log.warning("uplink_disconnected broker=%s error=%s", self.where, self.last_error)
            self.on_disconnected()

    def _new_client(self, number: int) -> mqtt.Client:
        s = self.settings
        v5 = s.mqtt_version == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=None if v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=True,  # a command is acknowledged only once it is persisted
        )
        client.max_inflight_messages_set(max(1, s.max_inflight))
        if self.tls:
            client.tls_set_context(tls_context(s))
        if s.will_topic:
            client.will_set(s.will_topic, s.will_payload, qos=1, retain=True)
        client.on_connect = lambda c, u, flags, rc, props: self._from_thread(
            self._on_connack, number, rc, props
        )
        client.on_disconnect = lambda c, u, flags, rc, props: self._from_thread(
            self._on_disconnect, number, rc
        )
        client.on_publish = lambda c, u, mid, rc, props: self._on_puback(number, mid, rc)
        client.on_message = lambda c, u, m: self._from_thread(
            self.on_message, (number, m.topic, bytes(m.payload), m.mid, m.qos)
        )
        return client

    # --- from paho's thread ----------------------------------------------------------------
    def _from_thread(self, func: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            loop.call_soon(func, *args)  # already on the loop: skip the self-pipe wake-up
        else:
            loop.call_soon_threadsafe(func, *args)

    def _on_puback(self, number: int, mid: int, rc: ReasonCode) -> None:
        code = int(rc.value)  # the reason's name only for a failure (it costs per PUBACK)
        self._acks.append((number, mid, code, str(rc) if code >= 0x80 else ""))
        if not self._ack_scheduled:  # one wake-up per burst of PUBACKs, not one per ack
            self._ack_scheduled = True
            self._from_thread(self._deliver_acks)

    # --- back on the event loop --------------------------------------------------------------
    def _deliver_acks(self) -> None:
        self._ack_scheduled = False  # cleared before draining: a later append reschedules
        acks, self._acks = self._acks, []
        if acks:
            self.on_acks(acks)

    def _on_connack(self, number: int, rc: ReasonCode, props: Properties | None) -> None:
        if number != self.connections or self._connack is None or self._connack.done():
            return
        receive_max = getattr(props, "ReceiveMaximum", None) if props is not None else None
        limit = int(receive_max) if receive_max else self.settings.max_inflight
        self._connack.set_result((not rc.is_failure, str(rc), limit))

    def _on_disconnect(self, number: int, rc: ReasonCode) -> None:
        if number != self.connections:
            return
        # Kept aside: CONNACK and DISCONNECT can come in one read, before `_up` has run.
        self._closed_why = f"mqtt: {disconnect_reason(int(rc.value), str(rc))} ({self.where})"
        if self._connack is not None and not self._connack.done():
            self._connack.set_result((False, f"closed before CONNACK: {rc}{self._tls_hint}", 0))
        self._closed.set()

    # --- used by the drain and the command handler ------------------------------------------
    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int | None:
        """QoS 1 publish while connected; the mid, or None when not connected now."""
        client = self._client
        if client is None or not self.connected.is_set():
            return None
        info = client.publish(topic, payload, qos=1, retain=retain)
        return info.mid if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def pause_reading(self, paused: bool) -> None:
        """Stop (or resume) reading the current connection's socket: backpressure for
        incoming messages (a new connection always starts reading)."""
        if self._driver is not None and self._driver.pause_reading(paused) and paused:
            self.read_pauses += 1

    def ack(self, number: int, mid: int, qos: int) -> None:
        """Acknowledge an incoming message of connection `number` (if it is still up)."""
        client = self._client
        if client is not None and number == self.connections and qos > 0:
            client.ack(mid, qos)

    async def close(self, final: tuple[str, bytes] | None = None, timeout_s: float = 1.0) -> None:
        """Disconnect cleanly (the broker then does not send the will); `final` is a retained
        message published first, e.g. the `offline` status."""
        client = self._client
        if client is None:
            return
        self._closing = True
        if final is not None:
            info = client.publish(final[0], final[1], qos=1, retain=True)
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(
                    None, info.wait_for_publish, timeout_s
                )
        client.disconnect()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout_s)
