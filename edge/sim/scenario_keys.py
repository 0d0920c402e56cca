"""Reading a scenario file's values with errors that name the file, key and line.

Every problem is collected (never just the first) as an `edge.siteconf.issues.ConfigIssue`,
placed with the site loader's TOML line index (`edge.siteconf.toml_lines`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from edge.siteconf.issues import ConfigIssue, KeyPath
from edge.siteconf.toml_lines import index_lines, line_of

T = TypeVar("T")
_MISSING = object()


class ScenarioError(Exception):
    """Raised with every problem found in a scenario file."""

    def __init__(self, issues: Sequence[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__(
            f"{len(self.issues)} error(s) in scenario:\n" + "\n".join(str(i) for i in self.issues)
        )


class Keys:
    """One file's values, read key by key; `issues` collects what is wrong."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = index_lines(text)
        self.issues: list[ConfigIssue] = []

    def fail(self, path: KeyPath, message: str) -> None:
        self.issues.append(ConfigIssue(self.name, path, message, line_of(self.lines, path)))

    def table(self, data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.fail((key,), "must be a table")
            return {}
        return value

    def tables(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            self.fail((key,), f"must be an array of tables ([[{key}]])")
            return []
        return value

    def unknown(self, path: KeyPath, table: Mapping[str, Any], known: Sequence[str]) -> None:
        for key in table:
            if key not in known:
                self.fail((*path, key), f"unknown key (known: {', '.join(known)})")

    def number(
        self,
        path: KeyPath,
        table: Mapping[str, Any],
        default: Any = _MISSING,
        lo: float | None = None,
        hi: float | None = None,
    ) -> float:
        key = path[-1]
        assert isinstance(key, str)
        if key not in table:
            if default is _MISSING:
                self.fail(path, "required")
                return 0.0
            return float(default)
        v = table[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.fail(path, f"must be a number, got {v!r}")
            return 0.0 if default is _MISSING else float(default)
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            self.fail(path, f"must be in [{lo}, {hi}], got {v}")
        return float(v)

    def choice(
        self, path: KeyPath, table: Mapping[str, Any], options: Sequence[str], default: str | None
    ) -> str:
        key = path[-1]
        v = table.get(key, default) if isinstance(key, str) else default
        if v is None:
            self.fail(path, f"required (one of {', '.join(options)})")
            return options[0]
        if v not in options:
            self.fail(path, f"must be one of {', '.join(options)}, got {v!r}")
            return options[0]
        return str(v)

    def typed(self, path: KeyPath, table: Mapping[str, Any], kind: type[T], default: T) -> T:
        key = path[-1]
        v = table.get(key, default) if isinstance(key, str) else default
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            self.fail(path, f"must be {kind.__name__}, got {v!r}")
            return default
        return v

    def when(
        self, path: KeyPath, table: Mapping[str, Any], day0: datetime, default: str | None = None
    ) -> float:
        """A time: "HH:MM" on the start's local day, "+N HH:MM" N days later, or a local
        "YYYY-MM-DDTHH:MM"; UTC epoch seconds."""
        text = self.typed(path, table, str, default or "")
        if not text:
            if default is None:
                self.fail(path, 'required ("HH:MM", "+1 HH:MM" or "YYYY-MM-DDTHH:MM")')
            return day0.timestamp()
        return parse_when(text, day0, lambda m: self.fail(path, m))


def parse_when(text: str, day0: datetime, fail: Callable[[str], None]) -> float:
    tz = day0.tzinfo if isinstance(day0.tzinfo, ZoneInfo) else None
    try:
        if "T" in text or text.count("-") >= 2:
            dt = datetime.fromisoformat(text)
            return (dt if dt.tzinfo else dt.replace(tzinfo=tz)).timestamp()
        days, _, hm = text.rpartition(" ")
        hh, mm = (int(x) for x in hm.split(":"))
        if not (0 <= hh < 24 and 0 <= mm < 60):
            raise ValueError(hm)
        n = int(days.lstrip("+")) if days else 0
        local = day0.replace(hour=hh, minute=mm, second=0, microsecond=0) + timedelta(days=n)
        return local.replace(tzinfo=tz).timestamp()
    except ValueError:
        fail(f'not a time: {text!r} (use "HH:MM", "+1 HH:MM" or "YYYY-MM-DDTHH:MM")')
        return day0.timestamp()
