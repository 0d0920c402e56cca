"""Wire format of the local API: one JSON object per line, each way.

Request:  {"id": 1, "method": "status", "params": {}}
Reply:    {"id": 1, "ok": true, "result": {...}}
       or {"id": 1, "ok": false, "error": {"code": "unknown_method", "message": "..."}}
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_REQUEST_BYTES = 64 * 1024
MAX_REPLY_BYTES = 8 * 1024 * 1024
MAX_CLIENTS = 8
WRITE_TIMEOUT_S = 5.0  # a client that takes no output for this long is dropped


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Request:
    id: Any
    method: str
    params: dict[str, Any]


def parse_request(line: bytes) -> Request:
    try:
        data = json.loads(line, parse_constant=_no_constant)
    except RecursionError as exc:
        raise ProtocolError("bad_json", "request is nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, and ints > 4300 digits
        raise ProtocolError("bad_json", f"request is not JSON: {str(exc)[:200]}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("bad_request", "request must be a JSON object")
    method = data.get("method")
    params = data.get("params", {})
    request_id = data.get("id")
    if not isinstance(request_id, str | int | float | None) or isinstance(request_id, bool):
        raise ProtocolError("bad_request", "'id' must be a string, a number or null")
    if not isinstance(method, str) or not method:
        raise ProtocolError("bad_request", "request needs a string 'method'")
    if not isinstance(params, dict):
        raise ProtocolError("bad_request", "'params' must be an object")
    return Request(request_id, method, params)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def encode(message: dict[str, Any]) -> bytes:
    """One line of strict JSON: a NaN or an infinity in a result goes out as null."""
    try:
        text = json.dumps(message, separators=(",", ":"), default=str, allow_nan=False)
    except ValueError:
        text = json.dumps(_finite(message), separators=(",", ":"), default=str, allow_nan=False)
    return text.encode() + b"\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def reply_ok(request_id: Any, result: Any) -> bytes:
    return encode({"id": request_id, "ok": True, "result": result})


def reply_error(request_id: Any, code: str, message: str) -> bytes:
    return encode({"id": request_id, "ok": False, "error": {"code": code, "message": message}})


def default_socket_path() -> Path:
    """Where the daemon listens unless told otherwise; the CLI looks in the same place."""
    if env := os.environ.get("EDGE_SOCKET"):
        return Path(env)
    if runtime := os.environ.get("RUNTIME_DIRECTORY"):  # set by systemd's RuntimeDirectory=
        return Path(runtime.split(":")[0]) / "edge.sock"
    if os.geteuid() == 0 or os.access("/run/edge", os.W_OK):
        return Path("/run/edge/edge.sock")
    if xdg := os.environ.get("XDG_RUNTIME_DIR"):
        return Path(xdg) / "edge" / "edge.sock"
    return Path(f"/tmp/edge-{os.geteuid()}/edge.sock")  # noqa: S108 (per-user, mode 0700 dir)
