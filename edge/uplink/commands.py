"""Commands from the cloud: a registry later issues add to, and the rules every command obeys.

Pure part (`parse`, `decide`): size, JSON, envelope and argument schemas, expiry
(`not_after`) and replays (request id already seen). Shell part (`CommandProcessor`):
persist the command before it acts, acknowledge the MQTT message only then, run the
handler (bounded in time), persist the result and answer on `<prefix>/cmd-reply` through
the outbox (so replies are durable and ordered too). Nothing a sender does can raise out
of here: every failure becomes an error reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Protocol

import jsonschema

from edge.uplink.command_json import FORMATS, FieldError, loads_command, valid_request_id

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 16 * 1024
HANDLER_TIMEOUT_S = 10.0
Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("edge.uplink").joinpath("schemas", name).read_text()
    data: dict[str, Any] = json.loads(text)
    return data


ENVELOPE = jsonschema.Draft202012Validator(load_schema("command.json"), format_checker=FORMATS)


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    request_id: str
    not_after: float | None
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rejection:
    name: str
    request_id: str | None
    status: str  # "rejected" | "expired" | "duplicate"
    code: str
    message: str


def parse(
    name: str | None, payload: bytes, validators: Mapping[str, jsonschema.Validator]
) -> Command | Rejection:
    """Check one incoming command message; no I/O."""
    label = name or "?"
    if len(payload) > MAX_COMMAND_BYTES:
        return Rejection(label, None, "rejected", "too_large", f"over {MAX_COMMAND_BYTES} bytes")
    try:
        data = loads_command(payload)
    except FieldError as exc:
        return Rejection(label, None, "rejected", "invalid", str(exc))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return Rejection(label, None, "rejected", "bad_json", f"not JSON: {exc}")
    rid = data.get("request_id") if isinstance(data, dict) else None
    rid = rid if valid_request_id(rid) else None  # never echo (or log) a malformed id
    if name is None or name not in validators:
        return Rejection(label[:64], rid, "rejected", "unknown_command", f"unknown {label[:64]!r}")
    err = jsonschema.exceptions.best_match(ENVELOPE.iter_errors(data))
    if err is not None:
        return Rejection(name, rid, "rejected", "invalid", _where(err))
    if rid is None:
        why = "request_id: 1-64 of A-Z a-z 0-9 _ . : - only, no control characters"
        return Rejection(name, None, "rejected", "invalid", f"{why} (at request_id)")
    err = jsonschema.exceptions.best_match(validators[name].iter_errors(data["args"]))
    if err is not None:
        return Rejection(name, rid, "rejected", "invalid_args", _where(err))
    try:  # jsonschema checks date-time only with an optional package: check it here
        deadline = _deadline(data.get("not_after"))
    except ValueError as exc:
        return Rejection(name, rid, "rejected", "invalid", f"not_after: {exc}")
    return Command(name, data["request_id"], deadline, data["args"])


def _where(err: jsonschema.ValidationError) -> str:
    path = "/".join(str(p) for p in err.absolute_path) or "(top)"
    return f"{err.message[:200]} (at {path})"


def _deadline(value: str | None) -> float | None:
    if value is None:
        return None
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone (use Z or +00:00)")
    return when.timestamp()


def decide(cmd: Command, now_wall: float, seen_state: str | None) -> Rejection | None:
    """None: run it. Replays are refused before expiry, so a replay never runs twice."""
    if seen_state is not None:
        return Rejection(cmd.name, cmd.request_id, "duplicate", "seen", f"already {seen_state}")
    if cmd.not_after is not None and now_wall > cmd.not_after:
        return Rejection(cmd.name, cmd.request_id, "expired", "expired", "not_after has passed")
    return None


class CommandRegistry:
    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.validators: dict[str, jsonschema.Validator] = {}

    def register(self, name: str, schema: dict[str, Any], handler: Handler) -> None:
        if name in self.handlers:
            raise ValueError(f"command {name} registered twice")
        self.validators[name] = jsonschema.Draft202012Validator(schema, format_checker=FORMATS)
        self.handlers[name] = handler


class CommandStore(Protocol):
    """What the processor needs from storage (the outbox file implements it)."""

    async def command_state(self, request_id: str) -> str | None: ...
    async def record_command(
        self, request_id: str, name: str, state: str, result: str, reply: str | None = None
    ) -> None: ...
    async def mark_replied(self, request_id: str) -> None: ...
    async def unreplied(self) -> list[tuple[str, str, str, str | None]]: ...
    async def accept(self, stream: str, payload: Any) -> str: ...


def reply_body(
    name: str,
    request_id: str | None,
    status: str,
    code: str = "",
    message: str = "",
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"request_id": request_id, "command": name, "status": status}
    if code:
        body["code"] = code
    if message:
        body["message"] = message
    if result is not None:
        body["result"] = result
    return body


INTERRUPTED = "the daemon restarted while running this command; it may or may not have taken effect"


class CommandProcessor:
    def __init__(
        self,
        registry: CommandRegistry,
        store: CommandStore,
        wall: Callable[[], float],
    ) -> None:
        self.registry = registry
        self.store = store
        self._wall = wall
        self.counts: dict[str, int] = {}

    async def handle(self, name: str | None, payload: bytes, ack: Callable[[], None]) -> None:
        """One message: never raises (except cancellation)."""
        try:
            await self._handle(name, payload, ack)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("command_failed command=%s", name)
            await self._reply_safely(name or "?", None, "error", "internal", str(exc)[:200])
            ack()

    async def _handle(self, name: str | None, payload: bytes, ack: Callable[[], None]) -> None:
        parsed = parse(name, payload, self.registry.validators)
        if isinstance(parsed, Command):
            seen = await self.store.command_state(parsed.request_id)
            rejected = decide(parsed, self._wall(), seen)
            if rejected is None:
                await self._run(parsed, ack)
                return
            parsed = rejected
        self._count(parsed.status)
        log.info(
            "command_refused command=%s request_id=%s code=%s",
            parsed.name,
            parsed.request_id,
            parsed.code,
        )
        body = reply_body(
            parsed.name, parsed.request_id, parsed.status, parsed.code, parsed.message
        )
        if parsed.request_id is not None and parsed.status != "duplicate":
            await self.store.record_command(
                parsed.request_id, parsed.name, parsed.status, "", json.dumps(body)
            )
            ack()
            await self._send(parsed.request_id, body)
            return
        # Nothing recorded to recover from: queue the reply before the ack, so a kill in
        # between means a redelivery and a second reply, never no reply.
        await self.store.accept("cmd-reply", body)
        ack()

    async def _run(self, cmd: Command, ack: Callable[[], None]) -> None:
        await self.store.record_command(cmd.request_id, cmd.name, "received", "")
        ack()  # persisted: the broker may forget it now
        handler = self.registry.handlers[cmd.name]
        try:
            result = await asyncio.wait_for(handler(cmd.args), HANDLER_TIMEOUT_S)
        except (ValueError, KeyError, TimeoutError) as exc:
            state, text = "failed", str(exc)
            body = reply_body(cmd.name, cmd.request_id, "error", "failed", text[:200])
            self._count("error")
        else:
            state, text = "done", json.dumps(result)
            body = reply_body(cmd.name, cmd.request_id, "ok", result=result)
            self._count("ok")
            log.info("command_done command=%s request_id=%s", cmd.name, cmd.request_id)
        # The reply is recorded with the outcome first: if a kill comes before it is queued,
        # `recover` queues it at the next start.
        await self.store.record_command(cmd.request_id, cmd.name, state, text, json.dumps(body))
        await self._send(cmd.request_id, body)

    async def _send(self, request_id: str, body: dict[str, Any]) -> None:
        await self.store.accept("cmd-reply", body)
        await self.store.mark_replied(request_id)

    async def recover(self) -> int:
        """Answer what a kill interrupted, before taking new commands: every acknowledged
        command gets its reply (a duplicate of one already queued is possible, none is lost).
        A command killed while running is not run again (at most once): it is answered
        `interrupted`."""
        recovered = 0
        for request_id, name, _state, reply in await self.store.unreplied():
            if reply is None:
                body = reply_body(name, request_id, "error", "interrupted", INTERRUPTED)
                await self.store.record_command(
                    request_id, name, "failed", "interrupted", json.dumps(body)
                )
            else:
                body = json.loads(reply)
            await self._send(request_id, body)
            recovered += 1
        if recovered:
            log.warning("command_replies_recovered count=%d", recovered)
        return recovered

    def _count(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    async def _reply(
        self, name: str, request_id: str | None, status: str, code: str, message: str
    ) -> None:
        await self.store.accept("cmd-reply", reply_body(name, request_id, status, code, message))

    async def _reply_safely(
        self, name: str, request_id: str | None, status: str, code: str, message: str
    ) -> None:
        try:
            await self._reply(name, request_id, status, code, message)
        except Exception:
            log.exception("command_reply_failed command=%s", name)
