"""Our calls to a charge point, checked: an error reply raises in the package only with
`suppress=False` (otherwise it returns None), and a status other than the one we asked for
is a refusal. Each gives None when done, else `<what>: <why>`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from ocpp.exceptions import OCPPError
from ocpp.routing import after as _after
from ocpp.routing import on as _on

from edge.ocpp.station import Station

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def on(action: str) -> Callable[[F], F]:
    """The package's `@on`, typed (it is untyped, and mypy --strict refuses that)."""
    return cast(Callable[[F], F], _on(action))


def after(action: str) -> Callable[[F], F]:
    return cast(Callable[[F], F], _after(action))


def count_errors(station: Station, message: str) -> None:
    """Count the CALLERRORs we answer; log the first and then every hundredth."""
    if not message.startswith("[4,"):
        return
    station.errors_out += 1
    if station.errors_out == 1 or station.errors_out % 100 == 0:
        log.warning("ocpp_callerror_sent charger=%s count=%d error=%s",
                    station.identity, station.errors_out, message[:160])  # fmt: skip


def _status(answer: Any) -> str:
    return str(getattr(answer, "status", ""))


async def checked(
    cp: Any,
    payload: Any,
    ok: tuple[str, ...] = ("Accepted",),
    status_of: Callable[[Any], str] = _status,
) -> str | None:
    action = type(payload).__name__
    try:
        answer = await cp.call(payload, suppress=False)
    except OCPPError as exc:
        return f"{action}: CALLERROR {exc.code}: {exc.description}"
    except TimeoutError:
        return f"{action}: no answer within {cp._response_timeout:g} s"
    status = status_of(answer)
    if status in ok:
        return None
    info = getattr(answer, "status_info", None)
    reason = info.get("reason_code", "") if isinstance(info, dict) else ""
    return f"{action}: {status or 'no status'}{f' ({reason})' if reason else ''}"
