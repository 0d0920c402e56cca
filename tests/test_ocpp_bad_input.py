"""Bad input from a charge point: answered per OCPP-J, and never felt by another charger."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets
from ocpp.v16 import call as call16
from websockets.exceptions import ConnectionClosed

from edge.chargers.port import Outcome
from edge.chargers.site_port import SitePort
from tests.ocpp_peers import Record, charge_point, endpoint, url


async def _raw(site, identity: str, version: str = "1.6"):  # type: ignore[no-untyped-def]
    return await websockets.connect(url(site, identity), subprotocols=[f"ocpp{version}"])  # type: ignore[list-item]


async def _ask(ws, frame: str) -> list:  # type: ignore[no-untyped-def,type-arg]
    await ws.send(frame)
    async with asyncio.timeout(10):
        return json.loads(await ws.recv())  # type: ignore[no-any-return]


async def test_malformed_unknown_and_invalid_frames_get_callerrors(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as site:
        ws = await _raw(site, "CP16")
        assert await _ask(ws, "not json") == [
            4,
            "-1",
            "FormationViolation",
            "Message is not valid JSON",
            {},
        ]
        assert (await _ask(ws, "[2]"))[:3] == [4, "-1", "ProtocolError"]
        assert (await _ask(ws, '[7,"a1","Heartbeat",{}]'))[:3] == [4, "a1", "ProtocolError"]
        # OCPP-J 1.6 Table 7: NotImplemented "Requested Action is not known by receiver",
        # NotSupported "Requested Action is recognized but not supported by the receiver"
        assert (await _ask(ws, '[2,"a2","FlyToTheMoon",{}]'))[:3] == [4, "a2", "NotImplemented"]
        unhandled = '[2,"a3","GetConfiguration",{}]'  # a CSMS -> charge point action
        assert (await _ask(ws, unhandled))[:3] == [4, "a3", "NotSupported"]
        bad = (
            '[2,"a4","StatusNotification",'
            '{"connectorId":"one","errorCode":"NoError","status":"Available"}]'
        )
        assert (await _ask(ws, bad))[:3] == [4, "a4", "TypeConstraintViolation"]
        missing = '[2,"a5","BootNotification",{"chargePointVendor":"X"}]'
        assert (await _ask(ws, missing))[:3] == [4, "a5", "ProtocolError"]
        assert (await _ask(ws, '[2,"a6","Heartbeat",{}]'))[:2] == [3, "a6"]  # still served
        assert site.stations["CP16"].errors_out == 7
        await ws.close()


async def test_v201_rpc_errors(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as site:
        ws = await _raw(site, "CP201", "2.0.1")
        assert (await _ask(ws, "{]"))[:3] == [4, "-1", "RpcFrameworkError"]
        assert (await _ask(ws, '[9,"b1",{}]'))[:3] == [4, "b1", "MessageTypeNotSupported"]
        assert (await _ask(ws, '[2,"b2","FlyToTheMoon",{}]'))[:3] == [4, "b2", "NotImplemented"]
        assert (await _ask(ws, '[2,"b3","GetVariables",{}]'))[:3] == [4, "b3", "NotSupported"]
        bad = '[2,"b4","StatusNotification",{"timestamp":"x","connectorStatus":"Occupied"}]'
        assert (await _ask(ws, bad))[:3] == [4, "b4", "ProtocolError"]  # fields missing
        assert (await _ask(ws, '[2,"b5","Heartbeat",{}]'))[:2] == [3, "b5"]  # still served
        assert site.stations["CP201"].errors_out == 5
        await ws.close()


async def test_oversized_frame_closes_only_that_connection(tmp_path: Path) -> None:
    other = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", other):
        port = SitePort(site.backends())
        ws = await _raw(site, "CP16")
        big = json.dumps([2, "c1", "DataTransfer", {"vendorId": "x", "data": "y" * 70_000}])
        await ws.send(big)
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                await ws.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1009  # message too big (RFC 6455 7.4.1)
        result = await port.apply({"B3": 90_000.0})
        assert result.of("B3").outcome is Outcome.CONFIRMED


async def test_a_flood_is_answered_and_holds_up_no_ones_profiles(tmp_path: Path) -> None:
    calm = Record()
    async with endpoint(tmp_path) as site, charge_point(site, "CP201", "2.0.1", calm):
        port = SitePort(site.backends())
        ws = await _raw(site, "CP16")
        count = 200
        answers: dict[str, list] = {}  # type: ignore[type-arg]
        reader = asyncio.create_task(_read_and_accept(ws, answers, count))
        await _flood(ws, count)
        both = await port.apply({"B1": 70_000.0, "B3": 70_000.0})  # mid-flood
        assert both.of("B1").outcome is Outcome.CONFIRMED  # the flooder's own answer got through
        assert both.of("B3").outcome is Outcome.CONFIRMED
        async with asyncio.timeout(60):
            await reader
        assert set(answers) == {f"f{i}" for i in range(count)}  # every CALL answered
        codes = {a[2] if a[0] == 4 else "ok" for a in answers.values()}
        assert codes <= {"ok", "GenericError"}
        assert "GenericError" in codes  # the queue filled: some were told to retry
        await ws.close()


async def _read_and_accept(ws, answers: dict, count: int) -> None:  # type: ignore[no-untyped-def,type-arg]
    """Collect the answers to our flood; accept the endpoint's own calls meanwhile."""
    while len(answers) < count:
        frame = json.loads(await ws.recv())
        if frame[0] == 2:
            await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
        else:
            answers[frame[1]] = frame


async def _flood(ws, count: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        await ws.send(json.dumps([2, f"f{i}", "Heartbeat", {}]))


async def test_heartbeat_is_answered(tmp_path: Path) -> None:
    async with endpoint(tmp_path) as site, charge_point(site, "CP16", "1.6", Record()) as cp:
        beat = await cp.call(call16.Heartbeat(), suppress=False)
        assert beat.current_time.endswith("Z")
