"""Commands from the cloud: a registry later issues add to, and the rules every command obeys.

Pure (`parse`, `decide`): size, JSON, envelope and argument schemas, expiry (`not_after`)
and replays (request id already seen). The shell that persists, acknowledges, runs and
answers is `command_processor`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

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
