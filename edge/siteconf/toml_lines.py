"""Find the line of a key path in TOML text, so errors can say `site.toml:41`.

tomllib gives values but no positions. A line scanner that follows `[table]`,
`[[array]]` headers and `key =` lines is enough for the files people write by hand; when it
cannot place a path it returns the line of the nearest enclosing table, or None.
"""

from __future__ import annotations

import re

from edge.siteconf.issues import KeyPath

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+?)\s*=")


def _split_dotted(text: str) -> list[str]:
    return [p.strip().strip("\"'") for p in text.split(".")]


def index_lines(text: str) -> dict[KeyPath, int]:
    """Map every table, array element and key in `text` to its 1-based line."""
    lines: dict[KeyPath, int] = {}
    counts: dict[KeyPath, int] = {}
    current: KeyPath = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header:
            current = _resolve(_split_dotted(header.group(2)), counts)
            if header.group(1) == "[[":
                base = current
                counts[base] = counts.get(base, -1) + 1
                current = (*base, counts[base])
            lines.setdefault(current, number)
            continue
        key = _KEY.match(raw)
        if key:
            lines.setdefault((*current, *_split_dotted(key.group(1))), number)
    return lines


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
