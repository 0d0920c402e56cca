"""The JSON Schema run over the parsed file, its errors said in our words.

Types are strict: "integer" is a Python int (the standard's "integer" also takes 2.0), and
neither "integer" nor "number" takes a boolean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from edge.siteconf.issues import KeyPath
from edge.siteconf.schema import SITE_SCHEMA
from edge.siteconf.values import show

# "integer" is a Python int (not 2.0, which the standard's "integer" accepts), never a bool.
_TYPES = jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
    {
        "integer": lambda _, v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda _, v: isinstance(v, int | float) and not isinstance(v, bool),
    }
)
_Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # untyped in stubs
    jsonschema.Draft202012Validator, type_checker=_TYPES
)
_LEAF_RULES = {
    "type",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "minLength",
    "maxLength",
}


def check_schema(
    data: Mapping[str, Any], reported: set[KeyPath], report: Callable[[KeyPath, str], None]
) -> set[KeyPath]:
    """Report schema errors, except under paths already `reported`; return the paths of the
    values refused (wrong type, word or range), which later checks must not act on."""
    refused: set[KeyPath] = set()
    for err in _Validator(SITE_SCHEMA).iter_errors(data):
        path: KeyPath = tuple(err.absolute_path)
        if any(path[:n] in reported for n in range(len(path) + 1)):
            continue
        for where, message in explain(err):
            report(where, message)
        if err.validator in _LEAF_RULES:
            refused.add(path)
    return refused


def explain(err: jsonschema.ValidationError) -> list[tuple[KeyPath, str]]:
    """Turn a jsonschema error into (path, message) in our words."""
    path: KeyPath = tuple(err.absolute_path)
    inst: Any = err.instance
    wanted: Any = err.validator_value
    schema: Any = err.schema
    match err.validator:
        case "enum" if all(isinstance(v, str) for v in wanted) and not isinstance(inst, str):
            allowed = " or ".join(f'"{v}"' for v in wanted)
            return [
                (
                    path,
                    f"must be the string {allowed} (in quotes), "
                    f"got {_kind(_type_of(inst))} {show(inst)}",
                )
            ]
        case "enum":
            allowed = ", ".join(str(v) for v in wanted)
            return [(path, f"{show(inst)} is not one of {allowed}")]
        case "required":
            missing = [k for k in wanted if isinstance(inst, dict) and k not in inst]
            return [((*path, k), "missing (required)") for k in missing]
        case "additionalProperties":
            allowed = ", ".join(sorted(schema.get("properties", {})))
            extra = [k for k in inst if k not in schema.get("properties", {})]
            return [((*path, k), f"unknown key (allowed here: {allowed})") for k in extra]
        case "type":
            return [(path, f"must be {_kind(wanted)}, got {_kind(_type_of(inst))} {show(inst)}")]
        case "exclusiveMinimum":
            return [(path, f"must be > {wanted}, got {show(inst)}")]
        case "minimum":
            return [(path, f"must be >= {wanted}, got {show(inst)}")]
        case "maximum":
            return [(path, f"must be <= {wanted}, got {show(inst)}")]
        case "minLength":
            return [(path, "must not be empty")]
        case "maxLength":
            return [(path, f"must be at most {wanted} characters, got {len(inst)}")]
        case "pattern":
            return [(path, f"{show(inst)} is not allowed here (must match {wanted})")]
        case _:
            return [(path, err.message)]


def _type_of(value: Any) -> str:
    """The TOML/JSON word for a parsed value's type."""
    for word, kind in (("boolean", bool), ("integer", int), ("number", float), ("string", str)):
        if isinstance(value, kind):
            return word
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "?"


def _kind(value: Any) -> str:
    names = {
        "number": "a number",
        "?": "a value",
        "integer": "an integer",
        "string": "a string",
        "boolean": "true or false",
        "object": "a table",
        "array": "a list",
    }
    if isinstance(value, list):
        return " or ".join(names.get(str(v), str(v)) for v in value)
    return names.get(str(value), str(value))
