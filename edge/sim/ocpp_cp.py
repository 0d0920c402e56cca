"""One simulated OCPP charge point on the network: connects to the CSMS at
`ws://host:port/ocpp/<identity>` with its version's subprotocol and HTTP Basic auth,
boots, reports its connectors, sends heartbeats and meter values, drains its outbox, and
on losing the connection keeps charging under its default profile and reconnects with a
doubling backoff (`CpConfig.backoff_s`).

Faults for tests (`CpFaults` plus the methods here): reject or ignore profiles, answer
late, `disconnect(hold)` mid-session, `send_raw` a malformed frame, `flood` of calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from ocpp.exceptions import OCPPError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.headers import build_authorization_basic
from websockets.typing import Subprotocol

from edge.clock import Clock
from edge.sim.ocpp_config import V16, CpConfig, CpFaults
from edge.sim.ocpp_cp16 import Cp16
from edge.sim.ocpp_cp201 import Cp201
from edge.sim.ocpp_station import Item, Station
from edge.sim.ocpp_variables import HEARTBEAT, METER_SAMPLE, PING
from edge.sim.plant import Plant

log = logging.getLogger(__name__)

SUBPROTOCOL = {V16: "ocpp1.6", "2.0.1": "ocpp2.0.1"}
BOOT_RETRY_S = 5.0  # after a Pending / Rejected BootNotification without an interval


class SimChargePoint:
    """`run()` until cancelled (or `stop()`); `station` holds its state."""

    def __init__(
        self,
        config: CpConfig,
        plant: Plant,
        clock: Clock,
        url: str,
        faults: CpFaults | None = None,
    ) -> None:
        if config.version not in SUBPROTOCOL:
            raise ValueError(f"charge point {config.identity}: OCPP {config.version!r} unknown")
        self.station = Station(config, plant, faults)
        self.clock, self.config = clock, config
        self.url = url.rstrip("/") + "/" + config.identity
        self.online_since = 0.0
        self.connects = 0  # successful BootNotifications, for tests
        self.sent_ok = 0  # outbox items the CSMS answered
        self._cp: Cp16 | Cp201 | None = None
        self._ws: ClientConnection | None = None
        self._wake = asyncio.Event()  # the outbox has something, or the CP came online

    @property
    def faults(self) -> CpFaults:
        return self.station.faults

    # ---- Host (what the protocol handlers use) -----------------------------------------

    async def answer_delay(self) -> None:
        if self.faults.reply_delay_s > 0:
            await self.clock.sleep(self.faults.reply_delay_s)

    def reset_soon(self, reason: str) -> None:
        """After the Reset reply has gone: end the sessions, drop the line, boot again."""
        now = self.clock.wall()
        for c in self.station.connectors:
            self.station.stop_session(c, reason, now)
        asyncio.get_running_loop().call_later(0.05, self._close)

    # ---- faults ------------------------------------------------------------------------

    def disconnect(self, hold: bool = True) -> None:
        """Drop the connection now; with `hold`, stay away until `reconnect()`."""
        self.faults.offline = hold
        self._close()

    def reconnect(self) -> None:
        self.faults.offline = False

    async def send_raw(self, frame: str) -> None:
        """Any text as one websocket frame (malformed JSON, an unknown action...)."""
        if self._ws is not None:
            await self._ws.send(frame)

    async def flood(self, count: int) -> None:
        """`count` Heartbeat CALLs without waiting for their replies."""
        for _ in range(count):
            await self.send_raw(json.dumps([2, str(uuid.uuid4()), "Heartbeat", {}]))

    def _close(self) -> None:
        if self._ws is not None:
            self._ws.transport.abort()  # abrupt, as a cut cable: no closing handshake

    # ---- the loops ---------------------------------------------------------------------

    async def run(self) -> None:
        tasks = [
            asyncio.create_task(self._ticks(), name=f"ocpp-sim-tick-{self.config.identity}"),
            asyncio.create_task(self._sender(), name=f"ocpp-sim-send-{self.config.identity}"),
        ]
        try:
            await self._connections()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _connections(self) -> None:
        first, most = self.config.backoff_s
        backoff = first
        while True:
            if self.faults.offline:
                await self.clock.sleep(self.config.tick_s)
                continue
            try:
                booted = await self._session()
            except (OSError, InvalidHandshake, TimeoutError, OCPPError, ConnectionClosed) as e:
                log.info("ocpp_sim_connect_failed cp=%s error=%r", self.config.identity, e)
                booted = False
            self._went_offline()
            backoff = first if booted else min(most, backoff * 2)
            await self.clock.sleep(backoff)

    async def _session(self) -> bool:
        """One connection, to its end; True when it got as far as an accepted boot."""
        cfg = self.config
        headers = {}
        ping_s = self.station.variables.seconds(PING)  # a change waits for the next connection
        if cfg.password is not None:
            headers["Authorization"] = build_authorization_basic(cfg.identity, cfg.password)
        async with connect(
            self.url,
            subprotocols=[Subprotocol(SUBPROTOCOL[cfg.version])],
            additional_headers=headers,
            proxy=None,
            ping_interval=ping_s if ping_s > 0 else None,
            open_timeout=cfg.response_timeout_s,
            close_timeout=1.0,
        ) as ws:
            self._ws = ws
            cp: Cp16 | Cp201 = (Cp16 if cfg.version == V16 else Cp201)(self, ws)
            reader = asyncio.create_task(cp.start(), name=f"ocpp-sim-read-{cfg.identity}")
            beats: asyncio.Task[None] | None = None
            try:
                await self._boot(cp, reader)
                self._online(cp)
                beats = asyncio.create_task(self._heartbeats(cp))
                with contextlib.suppress(ConnectionClosed):
                    await reader  # until the connection ends
            finally:
                # Abort rather than close: with the reader gone, unread replies (a flood's)
                # fill the receive queue and a closing handshake would wait its full timeout.
                ws.transport.abort()
                tasks = [t for t in (reader, beats) if t is not None]
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            return True

    async def _boot(self, cp: Cp16 | Cp201, reader: asyncio.Task[Any]) -> None:
        while True:
            accepted, interval = await cp.boot()
            if accepted:
                if interval > 0:  # the CSMS's interval becomes the HeartbeatInterval
                    self.station.variables.values[HEARTBEAT] = f"{interval:g}"
                return
            await self.clock.sleep(interval if interval > 0 else BOOT_RETRY_S)
            if reader.done():
                raise ConnectionError("connection closed during boot")

    def _online(self, cp: Cp16 | Cp201) -> None:
        now = self.clock.wall()
        self._cp, self.online_since = cp, now
        self.station.online = True
        self.connects += 1
        pending = len(self.station.outbox)  # queued transaction messages go first
        self.station.outbox.append(Item("status", 0, now, value="Available"))
        for c, status in self.station.statuses().items():
            self.station.outbox.append(Item("status", c, now, value=status))
        self.station.apply_limits(now)  # back from the offline fallback
        log.info("ocpp_sim_online cp=%s queued=%d", self.config.identity, pending)
        self._wake.set()

    def _went_offline(self) -> None:
        if self.station.online:
            log.info("ocpp_sim_offline cp=%s", self.config.identity)
        self._cp, self._ws = None, None
        self.station.went_offline()
        self.station.apply_limits(self.clock.wall())

    async def _heartbeats(self, cp: Cp16 | Cp201) -> None:
        while True:
            await self.clock.sleep(self.station.variables.seconds(HEARTBEAT))
            with contextlib.suppress(TimeoutError, OCPPError):
                await cp.heartbeat()

    async def _ticks(self) -> None:
        """The bays every tick; meter values every MeterValueSampleInterval (read each tick,
        so a change from the CSMS applies at once; 0: none)."""
        last_meter = self.clock.wall()
        while True:
            now = self.clock.wall()
            self.station.tick(now)
            every_s = self.station.variables.seconds(METER_SAMPLE)
            if every_s > 0 and now - last_meter >= every_s - 1e-6:
                self.station.meter_items(now)
                last_meter = now
            if self.station.outbox:
                self._wake.set()
            await self.clock.sleep(self.config.tick_s)

    async def _sender(self) -> None:
        """Drain the outbox in order while online; a message stays at the head until the
        CSMS has answered it (a CALLERROR answers it too: the CSMS refused it)."""
        outbox = self.station.outbox
        while True:
            cp = self._cp
            if cp is None or not outbox:
                self._wake.clear()
                await self._wake.wait()
                continue
            item = outbox[0]
            try:
                await cp.send(item)
            except ConnectionClosed:
                await self.clock.sleep(self.config.tick_s)  # the connection loop notices
                continue
            except TimeoutError:
                continue  # no answer: send it again
            except OCPPError as e:
                log.warning(
                    "ocpp_sim_refused cp=%s kind=%s error=%r", self.config.identity, item.kind, e
                )
            if outbox and outbox[0] is item:
                outbox.popleft()
                self.sent_ok += 1
