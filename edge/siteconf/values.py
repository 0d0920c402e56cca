"""Rules every value of a site file obeys, wherever it sits: finite numbers, 64-bit integers,
no control characters, bounded nesting.

The JSON Schema cannot say these (`nan` passes every `minimum`, a 400-digit integer passes
`type: integer`, `^...$` lets a trailing newline through), and the checks after it must never
see such a value: `pruned` hands them the file without the values flagged here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from edge.siteconf.issues import KeyPath

MAX_INT = 2**63 - 1  # TOML integers are 64-bit (tomllib accepts any size)
MAX_NESTING = 16  # tables and arrays inside each other; the deepest valid site file uses 4
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Report = Callable[[KeyPath, str], None]


class Refused:
    """Stands for a value already reported: present (so no `missing` follows), yet of no type
    a check acts on."""

    def __repr__(self) -> str:
        return "<refused>"


REFUSED = Refused()


def show(value: Any, limit: int = 60) -> str:
    """`repr` cut to `limit` characters, so a 5,000-character value stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]} ({len(text)} chars)"


def check_values(data: Mapping[str, Any], report: Report) -> set[KeyPath]:
    """Report every value that breaks the rules; return the paths reported."""
    flagged: set[KeyPath] = set()

    def flag(path: KeyPath, message: str) -> None:
        flagged.add(path)
        report(path, message)

    stack: list[tuple[KeyPath, Any]] = [((), data)]
    while stack:
        path, value = stack.pop()
        if len(path) > MAX_NESTING:
            flag(path, f"nested too deeply (at most {MAX_NESTING} levels)")
            continue
        if isinstance(value, dict):
            for key, child in value.items():
                if _CONTROL.search(key):
                    flag((*path, key), f"key {show(key)} contains a control character")
                else:
                    stack.append(((*path, key), child))
        elif isinstance(value, list):
            stack.extend(((*path, i), child) for i, child in enumerate(value))
        else:
            problem = _problem(value)
            if problem:
                flag(path, problem)
    return flagged


def _problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > MAX_INT:
        return f"{len(str(abs(value)))}-digit integer is out of range (at most {MAX_INT})"
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if isinstance(value, str) and _CONTROL.search(value):
        return f"must not contain control characters (newline, tab, NUL...), got {show(value)}"
    return None


def pruned(data: Any, drop: set[KeyPath], path: KeyPath = ()) -> Any:
    """A copy of `data` with REFUSED for the values at `drop` and below MAX_NESTING."""
    if path in drop or len(path) > MAX_NESTING:
        return REFUSED
    if isinstance(data, dict):
        return {k: pruned(v, drop, (*path, k)) for k, v in data.items()}
    if isinstance(data, list):
        return [pruned(v, drop, (*path, i)) for i, v in enumerate(data)]
    return data
