"""The local list and its updates as JSON: the `auth-list-update` command's arguments
(edge/uplink/schemas/cmd-auth-list-update.json) and the rows of the local store. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from edge.auth.model import (
    AuthStatus,
    CloudAnswer,
    ListEntry,
    ListUpdate,
    LocalList,
    UpdateType,
    normal_token,
)


def _when(text: str | None) -> float | None:
    if text is None:
        return None
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (use Z or +00:00)")
    return when.timestamp()


def entry_from(data: dict[str, Any]) -> tuple[str, ListEntry | None]:
    """One list entry from the wire: `status` absent means remove (differential only)."""
    token = normal_token(str(data["id_token"]))
    if data.get("status") is None:
        return token, None
    status = AuthStatus(data["status"])
    if status is AuthStatus.UNKNOWN:
        raise ValueError(f"auth-list-update: status Unknown is not a list status ({token})")
    try:
        expiry = _when(data.get("expiry"))
    except ValueError as exc:
        raise ValueError(f"auth-list-update: expiry of {token}: {exc}") from exc
    return token, ListEntry(token, status, expiry, data.get("booking"), data.get("bay"))


def update_from(args: dict[str, Any]) -> ListUpdate:
    kind = UpdateType(args["update"])
    entries = tuple(entry_from(e) for e in args.get("entries", []))
    if kind is UpdateType.FULL and any(e is None for _, e in entries):
        raise ValueError("auth-list-update: a full update lists no removals (status missing)")
    return ListUpdate(
        int(args["version"]), kind, entries, int(args.get("part", 1)), int(args.get("parts", 1))
    )


def entry_json(e: ListEntry) -> dict[str, Any]:
    return {
        "id_token": e.id_token,
        "status": e.status.value,
        "expiry": e.expiry,
        "booking": e.booking,
        "bay": e.bay,
    }


def entries_text(entries: list[ListEntry]) -> str:
    return json.dumps([entry_json(e) for e in entries], separators=(",", ":"))


def entries_of(text: str) -> list[ListEntry]:
    return [
        ListEntry(
            d["id_token"], AuthStatus(d["status"]), d.get("expiry"), d.get("booking"), d.get("bay")
        )
        for d in json.loads(text)
    ]


def list_text(local: LocalList) -> str:
    return entries_text(list(local.entries.values()))


def answer_from(args: dict[str, Any]) -> CloudAnswer:
    """The cloud's `authorize-reply` arguments (schema-checked)."""
    return CloudAnswer(
        AuthStatus(args["status"]), _when(args.get("expiry")), args.get("booking"), args.get("bay")
    )


# Room for the command envelope around the args (request_id, not_after, keys) in 16 KiB.
MAX_ARGS_BYTES = 16 * 1024 - 512


def split_full(
    version: int, entries: Sequence[dict[str, Any]], max_bytes: int = MAX_ARGS_BYTES
) -> list[dict[str, Any]]:
    """The cloud's side, for reference and tests: a full list as `auth-list-update` args,
    parts numbered 1..n of one version, each at most `max_bytes` as JSON with the usual
    ", " and ": " separators (compact JSON is smaller still)."""
    head = {"version": version, "update": "full", "part": 1000, "parts": 1000, "entries": []}
    overhead = len(json.dumps(head).encode())
    groups: list[list[dict[str, Any]]] = [[]]
    size = overhead
    for entry in entries:
        n = len(json.dumps(entry).encode()) + 2  # ", " between entries
        if groups[-1] and size + n > max_bytes:
            groups.append([])
            size = overhead
        groups[-1].append(entry)
        size += n
    return [
        {"version": version, "update": "full", "part": i, "parts": len(groups), "entries": g}
        for i, g in enumerate(groups, start=1)
    ]
