"""Strict reading of command JSON, with rejections that name the field. Pure, no I/O.

- Integers longer than Python's int-string limit (4,300 digits) are not converted: `json`
  would raise a bare ValueError naming no field; here they become a rejection naming it.
- `format: date-time` is checked as RFC 3339 (jsonschema checks it only when an optional
  package is installed, so a value like "whenever" used to pass).
- A request id is matched against the whole string: Python's `$` also matches before a
  trailing newline, so the schema's pattern alone let "abc\\n" through.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from typing import Any

import jsonschema

MAX_INT_DIGITS = 4300  # CPython's default int-string conversion limit (sys.int_info)
REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


class FieldError(ValueError):
    """A value the command cannot carry; `path` says where (e.g. "args/limit")."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{why} (at {path})")
        self.path = path


class _TooLong(str):
    """Marks an integer literal too long to convert; found by `_find_too_long`."""


def _int(text: str) -> int | _TooLong:
    digits = len(text.lstrip("-"))
    limit = sys.get_int_max_str_digits() or MAX_INT_DIGITS
    return _TooLong(text) if digits > limit else int(text)


def loads_command(payload: bytes) -> Any:
    """json.loads, raising FieldError for an integer over the digit limit."""
    data = json.loads(payload, parse_int=_int)
    _find_too_long(data, "")
    return data


def _find_too_long(value: Any, path: str) -> None:
    if isinstance(value, _TooLong):
        raise FieldError(path or "(top)", f"number over {MAX_INT_DIGITS} digits")
    if isinstance(value, dict | list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _find_too_long(item, f"{path}/{key}" if path else str(key))


def valid_request_id(value: object) -> bool:
    return isinstance(value, str) and REQUEST_ID.fullmatch(value) is not None


def is_date_time(value: object) -> bool:
    """RFC 3339 date-time with a time zone; other types pass (the schema checks types)."""
    if not isinstance(value, str):
        return True
    if RFC3339.fullmatch(value) is None:
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:  # e.g. month 13
        return False
    return True


FORMATS = jsonschema.FormatChecker()
FORMATS.checks("date-time")(is_date_time)
