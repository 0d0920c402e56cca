"""Reading the parsed site file tolerantly: the checks after the schema see values of any
shape (the schema reports the shape), so these helpers skip what they cannot use."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from edge.siteconf.issues import KeyPath

Report = Callable[[KeyPath, str], None]


def items(data: Mapping[str, Any], key: str) -> Iterator[tuple[int, dict[str, Any]]]:
    value = data.get(key)
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def ids(data: Mapping[str, Any], key: str, report: Report) -> dict[str, dict[str, Any]]:
    """Index a list of tables by id, reporting duplicates."""
    seen: dict[str, dict[str, Any]] = {}
    for index, item in items(data, key):
        ident = item.get("id")
        if not isinstance(ident, str):
            continue
        if ident in seen:
            report((key, index, "id"), f"duplicate id {ident!r} (ids must be unique in {key})")
        else:
            seen[ident] = item
    return seen


def num(item: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    """A number the schema accepted, else `default` (the schema reports the bad value)."""
    value = item.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        number = float(value)
    except OverflowError:
        return default
    return number if math.isfinite(number) else default


def kind(item: Mapping[str, Any]) -> str | None:
    """A device's kind, when it has a valid one (a refused kind is reported already)."""
    kind = item.get("kind")
    return kind if isinstance(kind, str) else None


def ref(
    report: Report, path: KeyPath, value: Any, known: Mapping[str, Any], what: str
) -> dict[str, Any] | None:
    if value is None or not isinstance(value, str):
        return None
    if value not in known:
        choices = ", ".join(sorted(known)) or "none defined"
        report(path, f"unknown {what} {value!r} (known: {choices})")
        return None
    found = known[value]
    return found if isinstance(found, dict) else None
