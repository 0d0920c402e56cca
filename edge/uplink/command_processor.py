"""The shell around `commands`: persist, acknowledge, run, record, answer; in batches.

The command task hands over every message waiting in the inbox at once (at most the inbox's
capacity). For a batch, in message order: check each (pure `parse`/`decide`), persist the
commands to run and the refusals in one synchronous=FULL transaction, acknowledge them to the
broker only then, run the handlers one after the other (bounded in time), record every outcome
with its reply in one transaction, queue the replies on `<prefix>/cmd-reply` through the outbox
(one group commit) and mark them replied. So a backlog costs a few fsyncs per batch instead of
four per command, and a kill anywhere loses no reply (`recover` answers at the next start
what was recorded but not yet queued). A refusal with no request id to record is queued
before the batch is acknowledged, so a kill in between means a redelivery, never no reply.
Nothing a sender does can raise out of here: every failure becomes an error reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from edge.uplink.commands import (
    HANDLER_TIMEOUT_S,
    Command,
    CommandRegistry,
    Rejection,
    decide,
    parse,
    reply_body,
)

log = logging.getLogger(__name__)
Incoming = tuple[str | None, bytes, Callable[[], None]]  # command name, payload, ack
Outcome = tuple[str, str, str, str, str | None]  # request id, name, state, result, reply
INTERRUPTED = "the daemon restarted while running this command; it may or may not have taken effect"


class CommandStore(Protocol):
    """What the processor needs from storage (the outbox file implements it)."""

    async def command_state(self, request_id: str) -> str | None: ...
    async def record_commands(self, rows: list[Outcome]) -> None: ...
    async def mark_all_replied(self, request_ids: list[str]) -> None: ...
    async def unreplied(self) -> list[tuple[str, str, str, str | None]]: ...
    async def accept(self, stream: str, payload: Any) -> str: ...


class CommandProcessor:
    def __init__(
        self, registry: CommandRegistry, store: CommandStore, wall: Callable[[], float]
    ) -> None:
        self.registry = registry
        self.store = store
        self._wall = wall
        self.counts: dict[str, int] = {}

    async def handle(self, name: str | None, payload: bytes, ack: Callable[[], None]) -> None:
        await self.handle_batch([(name, payload, ack)])

    async def handle_batch(self, batch: list[Incoming]) -> None:
        """Messages in arrival order: never raises (except cancellation)."""
        try:
            await self._batch(batch)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("command_failed commands=%d", len(batch))
            await self._reply_safely("error", "internal", str(exc)[:200])
            for _, _, ack in batch:
                ack()

    async def _batch(self, batch: list[Incoming]) -> None:
        checked = await self._check([(name, payload) for name, payload, _ in batch])
        to_run = [c for c in checked if isinstance(c, Command)]
        first: dict[str, Outcome] = {}  # request id -> what is recorded before the ack
        for c in checked:
            if isinstance(c, Command):
                first[c.request_id] = (c.request_id, c.name, "received", "", None)
            elif _recorded(c):
                first[str(c.request_id)] = (str(c.request_id), c.name, c.status, "", _reply(c))
        if first:
            await self.store.record_commands(list(first.values()))
        await self._queue(
            [_body(c) for c in checked if isinstance(c, Rejection) and not _recorded(c)]
        )
        for _, _, ack in batch:
            ack()  # persisted (or answered): the broker may forget them now
        outcomes = {c.request_id: await self._run(c) for c in to_run}
        if outcomes:
            await self.store.record_commands(list(outcomes.values()))
        replies = {rid: (outcomes.get(rid) or row)[4] for rid, row in first.items()}  # in order
        await self._queue([json.loads(str(body)) for body in replies.values()])
        if replies:
            await self.store.mark_all_replied(list(replies))

    async def _check(self, messages: list[tuple[str | None, bytes]]) -> list[Command | Rejection]:
        """Parse and decide each message; a request id repeated within the batch is a replay."""
        now = self._wall()
        out: list[Command | Rejection] = []
        ids: set[str] = set()
        for name, payload in messages:
            parsed = parse(name, payload, self.registry.validators)
            if isinstance(parsed, Command):
                rid = parsed.request_id
                seen = "received" if rid in ids else await self.store.command_state(rid)
                parsed = decide(parsed, now, seen) or parsed
            if parsed.request_id is not None:
                ids.add(parsed.request_id)
            if isinstance(parsed, Rejection):
                self._count(parsed.status)
                log.info(
                    "command_refused command=%s request_id=%s code=%s",
                    parsed.name,
                    parsed.request_id,
                    parsed.code,
                )
            out.append(parsed)
        return out

    async def _run(self, cmd: Command) -> Outcome:
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
        return (cmd.request_id, cmd.name, state, text, json.dumps(body))

    async def _queue(self, bodies: list[dict[str, Any]]) -> None:
        """Accept replies together (one group commit); seqs follow the list's order."""
        await asyncio.gather(*(self.store.accept("cmd-reply", b) for b in bodies))

    async def recover(self) -> int:
        """Answer what a kill interrupted, before taking new commands: every acknowledged
        command gets its reply (a duplicate of one already queued is possible, none is lost).
        A command killed while running is not run again (at most once): it is answered
        `interrupted`."""
        pending = await self.store.unreplied()
        interrupted: list[Outcome] = []
        bodies: list[dict[str, Any]] = []
        for request_id, name, _state, reply in pending:
            if reply is None:
                body = reply_body(name, request_id, "error", "interrupted", INTERRUPTED)
                interrupted.append((request_id, name, "failed", "interrupted", json.dumps(body)))
            else:
                body = json.loads(reply)
            bodies.append(body)
        if interrupted:
            await self.store.record_commands(interrupted)
        await self._queue(bodies)
        if pending:
            await self.store.mark_all_replied([p[0] for p in pending])
            log.warning("command_replies_recovered count=%d", len(pending))
        return len(pending)

    def _count(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    async def _reply_safely(self, status: str, code: str, message: str) -> None:
        try:
            await self.store.accept("cmd-reply", reply_body("?", None, status, code, message))
        except Exception:
            log.exception("command_reply_failed")


def _body(r: Rejection) -> dict[str, Any]:
    return reply_body(r.name, r.request_id, r.status, r.code, r.message)


def _reply(r: Rejection) -> str:
    return json.dumps(_body(r))


def _recorded(r: Rejection) -> bool:
    """A refusal with a request id is recorded (so a replay is answered `duplicate`)."""
    return r.request_id is not None and r.status != "duplicate"
