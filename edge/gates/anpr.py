"""ANPR camera events: JSON posted to a local HTTP endpoint (aiohttp), checked, then given to
the lane as plate reads.

A camera posts `POST /anpr/<reader id>` with `Authorization: Bearer <secret>` (the reader's
`secret_file`) and a body like
`{"event_id": "cam1-8812", "plate": "1-ABC-123", "taken_at": 1767225600.0, "vehicle": "truck"}`
(`taken_at` in UTC epoch seconds or ISO 8601 with an offset; `vehicle` optional; `connector`,
"CCS" or "MCS", and `inlet_side`, "left" or "right", optional: what the camera's fleet
lookup knows of an unbooked truck's inlet, used instead of `[access] ad_hoc_connectors`). Answers:
202 delivered, 200 a duplicate event id (the camera retried; not delivered twice),
400 malformed, 401 wrong secret, 404 unknown reader, 413 body over MAX_BODY. The lane's
decision is awaited before answering, so a busy lane pushes back on the camera.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web

from edge.access.admission import VehicleClass
from edge.access.entry import CredentialRead, ReadKind
from edge.siteconf.model import Connector, InletSide, Reader

log = logging.getLogger(__name__)

MAX_BODY = 4096  # a plate event is a few hundred bytes; anything larger is refused unread
MAX_TEXT = 64  # event id, plate
REMEMBERED = 1024  # recent event ids per reader, for duplicate posts
VEHICLES = {
    "truck": VehicleClass.TRUCK,
    "electric-truck": VehicleClass.ELECTRIC_TRUCK,
    "car": VehicleClass.OTHER,
    "van": VehicleClass.OTHER,
    "bus": VehicleClass.OTHER,
    "other": VehicleClass.OTHER,
    "unknown": VehicleClass.UNKNOWN,
}

Deliver = Callable[[CredentialRead], Awaitable[None]]
_W = TypeVar("_W", Connector, InletSide)


class BadEvent(ValueError):
    pass


@dataclass
class Camera:
    reader: Reader
    secret: bytes | None  # None: no usable secret; every post is refused
    deliver: Deliver
    seen: OrderedDict[str, None]


def load_secret(reader: Reader) -> bytes | None:
    if reader.secret_file is None:
        return None
    try:
        secret = reader.secret_file.read_bytes().strip()
    except OSError as exc:
        log.error("anpr_secret_unreadable reader=%s file=%s error=%s", reader.id,
                  reader.secret_file, exc)  # fmt: skip
        return None
    if len(secret) < 16:
        log.error("anpr_secret_too_short reader=%s file=%s (at least 16 bytes)", reader.id,
                  reader.secret_file)  # fmt: skip
        return None
    return secret


def parse_event(body: bytes, reader: str) -> CredentialRead:
    """The camera's JSON as a plate read; BadEvent naming the field otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEvent(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadEvent("not a JSON object")
    event_id, plate = _text(data, "event_id"), _text(data, "plate")
    vehicle = data.get("vehicle", "unknown")
    if vehicle not in VEHICLES:
        raise BadEvent(f"vehicle: not one of {', '.join(VEHICLES)}")
    return CredentialRead(
        ReadKind.PLATE, plate, reader, _when(data.get("taken_at")), event_id, VEHICLES[vehicle],
        _word(data, "connector", Connector), _word(data, "inlet_side", InletSide),
    )  # fmt: skip


def _word(data: Mapping[str, Any], key: str, kind: type[_W]) -> _W | None:
    """An optional word of `kind` (None when absent); BadEvent naming the key otherwise."""
    value = data.get(key)
    if value is None:
        return None
    words = [w.value for w in kind]
    if value not in words:
        raise BadEvent(f"{key}: not one of {', '.join(words)}")
    return kind(value)


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise BadEvent(f"{key}: a printable string of 1-{MAX_TEXT} characters is required")
    return value


def _when(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 < value < 2**33:
            raise BadEvent("taken_at: out of range")
        return float(value)
    if isinstance(value, str) and len(value) <= MAX_TEXT:
        try:
            at = datetime.fromisoformat(value)
        except ValueError as exc:
            raise BadEvent("taken_at: not ISO 8601") from exc
        if at.tzinfo is None:
            raise BadEvent("taken_at: needs a UTC offset")
        return at.timestamp()
    raise BadEvent("taken_at: epoch seconds or ISO 8601 is required")


class AnprEndpoint:
    """One listening address; several cameras (readers) may post to it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.bound: int | None = None  # the port listened on, once started (port 0: any)
        self.cameras: dict[str, Camera] = {}
        self._runner: web.AppRunner | None = None

    def add(self, reader: Reader, deliver: Deliver, secret: bytes | None = None) -> None:
        secret = secret if secret is not None else load_secret(reader)
        self.cameras[reader.id] = Camera(reader, secret, deliver, OrderedDict())

    async def start(self) -> int:
        """Listen; the port bound (useful with port 0 in tests)."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/anpr/{reader}", self._post)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.bound = int(bound)
        log.info("anpr_listening endpoint=%s:%s readers=%s", self.host, bound,
                 ",".join(self.cameras))  # fmt: skip
        return int(bound)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _post(self, request: web.Request) -> web.Response:
        camera = self.cameras.get(request.match_info["reader"])
        if camera is None:
            return _answer(404, "unknown reader")
        if not _authorised(request, camera.secret):
            log.warning("anpr_refused reader=%s peer=%s why=secret", camera.reader.id,
                        request.remote)  # fmt: skip
            return _answer(401, "wrong or missing secret")
        try:
            read = parse_event(await request.read(), camera.reader.id)
        except web.HTTPRequestEntityTooLarge:
            log.warning("anpr_refused reader=%s why=oversized", camera.reader.id)
            return _answer(413, f"body over {MAX_BODY} bytes")
        except BadEvent as exc:
            log.warning("anpr_refused reader=%s why=malformed detail=%s", camera.reader.id, exc)
            return _answer(400, str(exc))
        assert read.event_id is not None  # parse_event requires it
        if read.event_id in camera.seen:
            return _answer(200, "duplicate")
        camera.seen[read.event_id] = None
        while len(camera.seen) > REMEMBERED:
            camera.seen.popitem(last=False)
        await camera.deliver(read)
        return _answer(202, "delivered")


def _authorised(request: web.Request, secret: bytes | None) -> bool:
    given = request.headers.get("Authorization", "")
    if secret is None or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given[len("Bearer ") :].encode(), secret)


def _answer(status: int, text: str) -> web.Response:
    return web.json_response({"status": text}, status=status)
