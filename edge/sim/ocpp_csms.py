"""A minimal recording CSMS for the simulated charge points' tests and benchmark: both
versions on one `websockets` server on 127.0.0.1, HTTP Basic auth (user = the identity in
the path), every CALL it receives recorded, and `call(identity, payload)` to send one.

It is a test peer, not the edge's endpoint (`edge/ocpp/`): it accepts every boot and every
id tag except those in `refused_tags`, and numbers 1.6 transactions from 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cs16
from ocpp.v16 import call_result as r16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as Cs201
from ocpp.v201 import call_result as r201
from ocpp.v201.enums import Action as Action201
from websockets.asyncio.server import Server, ServerConnection, basic_auth, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

PATH = "/ocpp/"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Peer:
    """One connected charge point as the CSMS sees it."""

    identity: str
    version: str
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (action, payload)
    raw_errors: int = 0  # frames that were no OCPP message
    transactions: list[str] = field(default_factory=list)  # started, in order
    cp: Any = None  # the package's ChargePoint (the CSMS side)

    def actions(self, action: str) -> list[dict[str, Any]]:
        return [p for a, p in self.received if a == action]


def _record(peer: Peer, raw: str | bytes) -> None:
    try:
        msg = json.loads(raw)
    except ValueError:
        peer.raw_errors += 1
        return
    if isinstance(msg, list) and len(msg) == 4 and msg[0] == 2:
        peer.received.append((str(msg[2]), msg[3] if isinstance(msg[3], dict) else {}))


class _Recording:
    """What both versions' CSMS sides share: recording every frame, and the answers that
    differ only in the version's `call_result` module. Mixed in before `ChargePoint`."""

    results: Any  # the version's call_result module

    def __init__(self, peer: Peer, csms: TestCsms, ws: ServerConnection) -> None:
        super().__init__(peer.identity, ws, response_timeout=10)  # type: ignore[call-arg]
        self.peer, self.csms = peer, csms

    async def route_message(self, raw_msg: str) -> None:
        _record(self.peer, raw_msg)
        await super().route_message(raw_msg)  # type: ignore[misc]

    @on("BootNotification")  # type: ignore[untyped-decorator]
    def on_boot(self, **_: Any) -> Any:
        return self.results.BootNotification(_now(), self.csms.heartbeat_s, "Accepted")

    @on("Heartbeat")  # type: ignore[untyped-decorator]
    def on_heartbeat(self) -> Any:
        return self.results.Heartbeat(_now())

    @on("StatusNotification")  # type: ignore[untyped-decorator]
    def on_status(self, **_: Any) -> Any:
        return self.results.StatusNotification()

    @on("MeterValues")  # type: ignore[untyped-decorator]
    def on_meter_values(self, **_: Any) -> Any:
        return self.results.MeterValues()


class _Csms16(_Recording, Cs16):  # type: ignore[misc]  # the ocpp package is untyped
    results = r16

    @on(Action16.authorize)  # type: ignore[untyped-decorator]
    def on_authorize(self, id_tag: str) -> r16.Authorize:
        return r16.Authorize({"status": self.csms.tag_status(id_tag)})

    @on(Action16.start_transaction)  # type: ignore[untyped-decorator]
    def on_start(self, id_tag: str, **_: Any) -> r16.StartTransaction:
        tx = next(self.csms.tx_numbers)
        self.peer.transactions.append(str(tx))
        return r16.StartTransaction(tx, {"status": self.csms.tag_status(id_tag)})

    @on(Action16.stop_transaction)  # type: ignore[untyped-decorator]
    def on_stop(self, **_: Any) -> r16.StopTransaction:
        return r16.StopTransaction()


class _Csms201(_Recording, Cs201):  # type: ignore[misc]  # the ocpp package is untyped
    results = r201

    @on(Action201.authorize)  # type: ignore[untyped-decorator]
    def on_authorize(self, id_token: dict[str, Any], **_: Any) -> r201.Authorize:
        return r201.Authorize({"status": self.csms.tag_status(str(id_token["id_token"]))})

    @on(Action201.transaction_event)  # type: ignore[untyped-decorator]
    def on_transaction_event(
        self, event_type: str, transaction_info: dict[str, Any], **_: Any
    ) -> r201.TransactionEvent:
        if event_type == "Started":
            self.peer.transactions.append(str(transaction_info["transaction_id"]))
        return r201.TransactionEvent()

    @on(Action201.notify_ev_charging_needs)  # type: ignore[untyped-decorator]
    def on_ev_needs(self, **_: Any) -> r201.NotifyEVChargingNeeds:
        return r201.NotifyEVChargingNeeds("Accepted")


class TestCsms:
    """`async with TestCsms(passwords) as csms:`; `csms.url` is `ws://127.0.0.1:<port>/ocpp`."""

    __test__ = False  # not a pytest class

    def __init__(self, passwords: Mapping[str, str] | None = None, heartbeat_s: int = 60) -> None:
        self.passwords = dict(passwords or {})
        self.heartbeat_s = heartbeat_s
        self.peers: dict[str, Peer] = {}
        self.connections = 0
        self.refused_tags: set[str] = set()
        self.tx_numbers = itertools.count(1)
        self.url = ""
        self._server: Server | None = None
        self._live: set[ServerConnection] = set()

    def tag_status(self, tag: str) -> str:
        return "Invalid" if tag in self.refused_tags else "Accepted"

    async def __aenter__(self) -> TestCsms:
        auth = basic_auth(check_credentials=self._check) if self.passwords else None
        self._server = await serve(
            self._handler,
            "127.0.0.1",
            0,
            subprotocols=[Subprotocol("ocpp2.0.1"), Subprotocol("ocpp1.6")],
            process_request=auth,
        )
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/ocpp"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop listening and drop every charge point (the CSMS going away)."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self._server.wait_closed()
            self._server = None

    def _check(self, username: str, password: str) -> bool:
        return self.passwords.get(username) == password

    async def _handler(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        identity = path.removeprefix(PATH) if path.startswith(PATH) else ""
        user = getattr(ws, "username", identity)
        if not identity or ws.subprotocol is None or user != identity:
            await ws.close(1008, "identity, subprotocol or user refused")
            return
        version = "2.0.1" if ws.subprotocol == "ocpp2.0.1" else "1.6"
        peer = Peer(identity, version)
        peer.cp = (_Csms201 if version == "2.0.1" else _Csms16)(peer, self, ws)
        self.peers[identity] = peer
        self.connections += 1
        with contextlib.suppress(ConnectionClosed):
            await peer.cp.start()

    async def call(self, identity: str, payload: Any) -> Any:
        """Send a CALL to a charge point; its CALLERROR raises (`suppress=False`)."""
        return await self.peers[identity].cp.call(payload, suppress=False)
