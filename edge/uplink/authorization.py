"""Authorization on the wire: the `auth-list-update` command into the authorizer, and the
hub's `authorize` request to the cloud with its answer.

The request goes straight to the broker (`<prefix>/req/authorize`, QoS 1), not through the
outbox: an answer is useful only while a driver waits at the charger, so a request is never
kept for later. Not connected, or no answer within `request_timeout_s`: `ask` returns None
and the offline policy decides (the decision says so: source `offline-policy`). The cloud
answers with the command `authorize-reply`, which carries the request's `ask_id`; commands
are persisted and deduplicated like every other, and an answer that comes too late is
acknowledged and counted (`late`), never applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from edge.auth import wire
from edge.auth.authorizer import Authorizer
from edge.auth.model import CloudAnswer
from edge.clock import Clock
from edge.uplink.envelope import utc_iso

log = logging.getLogger(__name__)
REQUEST = "req/authorize"


class Publishes(Protocol):
    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> int | None: ...


def _new_id() -> str:
    return uuid.uuid4().hex


class CloudAsk:
    """`AsksCloud` over MQTT: one request per unknown token, answered by `authorize-reply`."""

    def __init__(
        self,
        link: Publishes,
        prefix: str,
        site: str,
        clock: Clock,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.link, self.topic, self.site, self.clock = link, f"{prefix}/{REQUEST}", site, clock
        self._new_id = new_id
        self.waiting: dict[str, asyncio.Future[CloudAnswer]] = {}
        self.asked = self.answered = self.timed_out = self.offline = self.late = 0

    async def ask(self, id_token: str, bay: str | None, timeout_s: float) -> CloudAnswer | None:
        ask_id = self._new_id()
        body = {
            "v": 1,
            "site": self.site,
            "ask_id": ask_id,
            "id_token": id_token,
            "bay": bay,
            "ts": utc_iso(self.clock.wall()),
            "timeout_s": timeout_s,
        }
        answer: asyncio.Future[CloudAnswer] = asyncio.get_running_loop().create_future()
        self.waiting[ask_id] = answer
        try:
            if self.link.publish(self.topic, json.dumps(body)) is None:
                self.offline += 1
                return None
            self.asked += 1
            return await self._wait(ask_id, answer, timeout_s)
        finally:
            self.waiting.pop(ask_id, None)

    async def _wait(
        self, ask_id: str, answer: asyncio.Future[CloudAnswer], timeout_s: float
    ) -> CloudAnswer | None:
        timer: asyncio.Future[None] = asyncio.ensure_future(self.clock.sleep(timeout_s))
        pending: set[asyncio.Future[Any]] = {answer, timer}  # the injected clock's time
        try:
            await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        if answer.done():
            self.answered += 1
            return answer.result()
        self.timed_out += 1
        log.warning("authorize_no_answer ask_id=%s timeout_s=%g", ask_id, timeout_s)
        return None

    async def reply(self, args: dict[str, Any]) -> dict[str, Any]:
        """The `authorize-reply` handler (args checked by the schema)."""
        ask_id = str(args["ask_id"])
        waiting = self.waiting.get(ask_id)
        if waiting is None or waiting.done():
            self.late += 1
            return {"ask_id": ask_id, "applied": False, "why": "late or unknown ask_id"}
        waiting.set_result(wire.answer_from(args))
        return {"ask_id": ask_id, "applied": True}


async def list_update(authorizer: Authorizer, args: dict[str, Any]) -> dict[str, Any]:
    """The `auth-list-update` handler: a version mismatch or a part that does not fit is an
    error reply naming it (a ValueError); nothing changed."""
    result = await authorizer.update(wire.update_from(args))
    return {
        "outcome": result.outcome,
        "version": result.version,
        "parts_received": result.parts_received,
        "parts": result.parts,
    }
