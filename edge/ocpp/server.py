"""The websocket endpoint charge points connect to: `ws[s]://host:port/ocpp/<identity>`.

The handshake is checked before any OCPP is spoken (websockets' `process_request`): the path
must name a charger device of the site (else HTTP 404), and the HTTP Basic credentials must
be that identity and its password from the secrets file (else 401, security profiles 1 and
2). Each refusal is logged (identity and why, never the password) and counted on the station
for the health page. The subprotocol is `ocpp2.0.1` or `ocpp1.6` (the server's preference
first, as websockets negotiates); a client offering neither is refused with 400.
"""

from __future__ import annotations

import hmac
import http
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHeader
from websockets.headers import build_www_authenticate_basic, parse_authorization_basic
from websockets.http11 import Request, Response

from edge.ocpp.settings import OcppSettings
from edge.ocpp.station import Station

log = logging.getLogger(__name__)

SUBPROTOCOLS = ["ocpp2.0.1", "ocpp1.6"]
PREFIX = "/ocpp/"
REALM = "edge-ocpp"


def identity_of(path: str) -> str | None:
    """`/ocpp/<identity>` -> identity (no query, no further slash)."""
    path = path.split("?", 1)[0]
    if not path.startswith(PREFIX):
        return None
    identity = path[len(PREFIX) :]
    return identity if identity and "/" not in identity else None


class Gate:
    """The handshake's checks, over the stations and the passwords."""

    def __init__(self, stations: Mapping[str, Station], passwords: Mapping[str, str]) -> None:
        self.stations = stations
        self.passwords = passwords
        self.refused = 0

    def check(self, connection: ServerConnection, request: Request) -> Response | None:
        identity = identity_of(request.path)
        station = self.stations.get(identity or "")
        if station is None:
            return self._refuse(connection, http.HTTPStatus.NOT_FOUND, identity, "unknown identity")
        why = self._credentials(request.headers, station.identity)
        if why is not None:
            station.refusals += 1
            return self._refuse(connection, http.HTTPStatus.UNAUTHORIZED, identity, why)
        return None

    def _credentials(self, headers: Headers, identity: str) -> str | None:
        expected = self.passwords.get(identity)
        if expected is None:
            return "no password for this identity in the secrets file"
        try:
            user, password = parse_authorization_basic(headers["Authorization"])
        except KeyError:
            return "no credentials"
        except InvalidHeader:
            return "unsupported credentials"
        if user != identity:
            return "user is not the identity"
        if not hmac.compare_digest(password.encode(), expected.encode()):
            return "wrong password"
        return None

    def _refuse(
        self, connection: ServerConnection, status: http.HTTPStatus, identity: str | None, why: str
    ) -> Response:
        self.refused += 1
        peer = connection.remote_address[0] if connection.remote_address else "?"
        log.warning(
            "ocpp_refused identity=%s peer=%s status=%d why=%s", identity, peer, status.value, why
        )
        response = connection.respond(status, f"{why}\n")
        if status is http.HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic(REALM)
        return response


def tls_context(settings: OcppSettings) -> ssl.SSLContext | None:
    if not settings.tls:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # OCPP security profile 2
    context.load_cert_chain(str(settings.cert_file), str(settings.key_file))
    return context


async def start_server(
    settings: OcppSettings, gate: Gate, handler: Callable[[ServerConnection], Awaitable[None]]
) -> Server:
    """Listening when it returns (port 0: see `bound_port`)."""
    return await serve(
        handler,
        settings.host,
        settings.port,
        subprotocols=SUBPROTOCOLS,  # type: ignore[arg-type]  # Subprotocol is a NewType of str
        process_request=gate.check,
        max_size=settings.max_message_bytes,
        max_queue=4,  # frames buffered before websockets stops reading the socket
        ssl=tls_context(settings),
        server_header=None,
    )


def bound_port(server: Server) -> int:
    sockets: Any = server.sockets
    return int(sockets[0].getsockname()[1])
