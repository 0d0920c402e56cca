"""The ANPR endpoint on 127.0.0.1: only well-formed events with the right secret reach the
lane, each event id once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from edge.access.admission import VehicleClass
from edge.access.entry import CredentialRead, ReadKind
from edge.gates.anpr import MAX_BODY, AnprEndpoint
from edge.siteconf.model import Reader, ReaderKind

SECRET = "s3cret-for-the-camera-0123"
EVENT = {"event_id": "cam-1", "plate": "1-ABC-123", "taken_at": 1767225600, "vehicle": "truck"}


@asynccontextmanager
async def endpoint(tmp_path: Path) -> AsyncIterator[tuple[str, list[CredentialRead]]]:
    secret_file = tmp_path / "anpr.secret"
    secret_file.write_text(SECRET + "\n")
    got: list[CredentialRead] = []

    async def deliver(read: CredentialRead) -> None:
        got.append(read)

    server = AnprEndpoint("127.0.0.1", 0)
    server.add(Reader("cam-entry", ReaderKind.ANPR, secret_file=secret_file), deliver)
    port = await server.start()
    try:
        yield f"http://127.0.0.1:{port}/anpr/cam-entry", got
    finally:
        await server.stop()


async def post(url: str, body: bytes, secret: str | None = SECRET) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.post(url, data=body, headers=headers) as response,
    ):
        return response.status, (await response.json())["status"]


async def test_a_good_event_is_delivered_once_duplicates_are_not(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as (url, got):
        body = json.dumps(EVENT).encode()
        assert await post(url, body) == (202, "delivered")
        assert await post(url, body) == (200, "duplicate")  # the camera's retry
        other = json.dumps({**EVENT, "event_id": "cam-2", "taken_at": "2026-01-01T00:00:05Z"})
        assert (await post(url, other.encode()))[0] == 202
    assert [(r.kind, r.value, r.event_id, r.vehicle) for r in got] == [
        (ReadKind.PLATE, "1-ABC-123", "cam-1", VehicleClass.TRUCK),
        (ReadKind.PLATE, "1-ABC-123", "cam-2", VehicleClass.TRUCK),
    ]
    assert got[1].taken_at == 1767225605.0


async def test_wrong_secret_malformed_and_oversized_posts_are_refused(tmp_path: Path) -> None:
    body = json.dumps(EVENT).encode()
    async with endpoint(tmp_path) as (url, got):
        assert (await post(url, body, secret="wrong"))[0] == 401
        assert (await post(url, body, secret=None))[0] == 401
        assert (await post(url, body, secret=SECRET[:-1]))[0] == 401
        assert (await post(url.replace("cam-entry", "cam-x"), body))[0] == 404
        assert (await post(url, b"{not json"))[0] == 400
        assert (await post(url, b"[1, 2]"))[0] == 400
        assert (await post(url, json.dumps({**EVENT, "plate": "A" * 65}).encode()))[0] == 400
        assert (await post(url, json.dumps({**EVENT, "plate": "AB\n12"}).encode()))[0] == 400
        assert (await post(url, json.dumps({**EVENT, "taken_at": "2026-01-01"}).encode()))[0] == 400
        assert (await post(url, json.dumps({**EVENT, "vehicle": "tank"}).encode()))[0] == 400
        assert (await post(url, json.dumps({**EVENT, "taken_at": True}).encode()))[0] == 400
        huge = json.dumps({**EVENT, "pad": "x" * (MAX_BODY + 1)}).encode()
        assert (await post(url, huge))[0] == 413
    assert got == []


async def test_without_a_usable_secret_every_post_is_refused(tmp_path: Path) -> None:
    delivered: list[CredentialRead] = []

    async def deliver(read: CredentialRead) -> None:
        delivered.append(read)

    server = AnprEndpoint("127.0.0.1", 0)
    (tmp_path / "short").write_text("short")
    server.add(Reader("cam", ReaderKind.ANPR, secret_file=tmp_path / "missing"), deliver)
    server.add(Reader("cam2", ReaderKind.ANPR, secret_file=tmp_path / "short"), deliver)
    port = await server.start()
    try:
        for reader, secret in (("cam", "None"), ("cam", ""), ("cam2", "short")):
            url = f"http://127.0.0.1:{port}/anpr/{reader}"
            assert (await post(url, json.dumps(EVENT).encode(), secret))[0] == 401
    finally:
        await server.stop()
    assert delivered == []
