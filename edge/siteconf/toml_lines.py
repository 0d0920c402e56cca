"""Find the line of a key path in TOML text, so errors can say `site.toml:41`.

tomllib gives values but no positions. A one-pass scanner that follows `[table]`, `[[array]]`
headers and `key =` lines is enough for the files people write by hand; it skips multi-line
strings and the inside of multi-line arrays, so a line starting with `[` in either is not a
header. When it cannot place a path, `line_of` returns the line of the nearest enclosing table.

The scan is linear in the file's length (no backtracking regex): a hostile file costs
as much as reading it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from edge.siteconf.issues import KeyPath

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(slots=True)
class _State:
    """What the scanner carries from one line to the next."""

    string: str = ""  # the open multi-line string's delimiter ('"""' or "'''"), or ""
    depth: int = 0  # open `[` / `{` of values (a multi-line array or inline table)


def _lines(text: str) -> Iterator[tuple[int, str, bool, int]]:
    """(number, line, starts outside any value, deepest value nesting on the line)."""
    state = _State()
    for number, raw in enumerate(text.splitlines(), start=1):
        at_top = not state.string and state.depth == 0
        yield number, raw, at_top, _feed(state, raw)


def _feed(state: _State, line: str) -> int:
    """Advance `state` over one line; return the deepest nesting seen on it."""
    deepest, i, n = state.depth, 0, len(line)
    while i < n:
        if state.string:
            end = _close_of(line, i, state.string)
            if end < 0:
                return deepest
            state.string, i = "", end
            continue
        ch = line[i]
        if ch == "#":
            break
        if ch in "\"'":
            if line.startswith(ch * 3, i):
                state.string, i = ch * 3, i + 3
                continue
            end = _close_of(line, i + 1, ch)
            i = n if end < 0 else end
            continue
        if ch in "[{":
            state.depth += 1
            deepest = max(deepest, state.depth)
        elif ch in "]}":
            state.depth = max(0, state.depth - 1)
        i += 1
    return deepest


def _close_of(line: str, start: int, delim: str) -> int:
    """Index just past the closing `delim` from `start` (basic strings honour `\\`), or -1."""
    i = start
    while True:
        found = line.find(delim, i)
        if found < 0:
            return -1
        if delim[0] == '"':
            slashes = 0
            while found - slashes - 1 >= start and line[found - slashes - 1] == "\\":
                slashes += 1
            if slashes % 2:
                i = found + 1
                continue
        end = found + len(delim)
        while delim == delim[0] * 3 and line.startswith(delim[0], end):
            end += 1  # `""""` closes with the last three quotes
        return end


def _key(line: str, i: int) -> tuple[list[str], int] | None:
    """Parse a dotted key from `line[i:]`: (parts, index after it), or None."""
    parts: list[str] = []
    n = len(line)
    while True:
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] in "\"'":
            end = _close_of(line, i + 1, line[i])
            if end < 0:
                return None
            parts.append(line[i + 1 : end - 1])
            i = end
        else:
            start = i
            while i < n and line[i] in _BARE:
                i += 1
            if i == start:
                return None
            parts.append(line[start:i])
        while i < n and line[i] in " \t":
            i += 1
        if i < n and line[i] == ".":
            i += 1
            continue
        return parts, i


def index_lines(text: str) -> dict[KeyPath, int]:
    """Map every table, array element and key in `text` to its 1-based line."""
    lines: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    current: KeyPath = ()
    for number, raw, at_top, _ in _lines(text):
        stripped = raw.lstrip()
        if not at_top or not stripped:
            continue
        if stripped.startswith("["):
            array = stripped.startswith("[[")
            parsed = _key(stripped, 2 if array else 1)
            if parsed is None:
                continue
            current = _resolve(parsed[0], counts)
            if array:
                lines.setdefault(current, number)  # the array itself: `bayz: unknown key`
                counts[current] = counts.get(current, -1) + 1
                current = (*current, counts[current])
            lines.setdefault(current, number)
            continue
        parsed = _key(stripped, 0)
        if parsed is not None and stripped[parsed[1] : parsed[1] + 1] == "=":
            lines.setdefault((*current, *parsed[0]), number)
    return lines


def deep_nesting_line(text: str, limit: int) -> int | None:
    """The first line where arrays/inline tables nest deeper than `limit`, or None.
    Checked before parsing: tomllib recurses once per level and would overflow the stack."""
    for number, _, _, deepest in _lines(text):
        if deepest > limit:
            return number
    return None


def _resolve(parts: list[str], counts: dict[KeyPath, int]) -> KeyPath:
    """Place a dotted header on the latest element of any array-of-tables it passes."""
    path: KeyPath = ()
    for part in parts:
        path = (*path, part)
        if path in counts:
            path = (*path, counts[path])
    # The last part of an `[[x]]` header is the array itself, not its latest element.
    if path and isinstance(path[-1], int):
        path = path[:-1]
    return path


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, else of its closest ancestor that has one."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None
