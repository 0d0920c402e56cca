"""Bad input at the whole daemon: one charge point (CP16, a raw websocket) sends malformed
frames, unknown actions, schema violations, an oversized frame, then floods; each is
answered per OCPP-J (CALLERROR) or closed per RFC 6455, and meanwhile the other charge point
(CP201, a 2.0.1 station charging a truck) still gets its new limit from a site-limit step,
and the control cycle keeps its period (no overrun, no failed cycle) through the flood."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from ocpp.v201 import call as call201
from websockets.exceptions import ConnectionClosed

from edge.local_api.client import LocalApiClient
from edge.runtime import Daemon
from tests.ocpp_peers import Record, charge_point, ocpp_daemon, url
from tests.polling import wait_until

pytestmark = pytest.mark.hil
FLOOD_BATCH = 50  # CALLs sent at once: over 6 times the queue, 5 times max_calls_per_s
FLOOD_MAX = 5_000  # CALLs at most, whatever happens


async def _raw(port: int) -> Any:
    return await websockets.connect(url(port, "CP16"), subprotocols=["ocpp1.6"])  # type: ignore[list-item]


async def _ask(ws: Any, frame: str) -> list[Any]:
    await ws.send(frame)
    async with asyncio.timeout(10):
        while True:  # skip the edge's own calls (none is expected before a boot)
            answer = json.loads(await ws.recv())
            if answer[0] != 2:
                return answer  # type: ignore[no-any-return]


def _tx_limits(rec: Record) -> list[float]:
    return [
        p["charging_schedule"][0]["charging_schedule_period"][0]["limit"]
        for p in rec.profiles
        if p["charging_profile_purpose"] == "TxProfile"
    ]


def _power(kw: float) -> list[dict[str, Any]]:
    sampled = [
        {"value": kw, "measurand": "Power.Active.Import",
         "unitOfMeasure": {"unit": "W", "multiplier": 3}}
    ]  # fmt: skip
    return [{"timestamp": datetime.now(UTC).isoformat(), "sampledValue": sampled}]


async def _charging(cp: Any) -> None:
    """A truck on CP201's EVSE 1, drawing nothing yet."""
    await cp.call(
        call201.StatusNotification("2026-11-30T10:00:00Z", "Occupied", 1, 1), suppress=False
    )
    await cp.call(call201.TransactionEvent(
        "Started", "2026-11-30T10:00:01Z", "CablePluggedIn", 0,
        {"transaction_id": "tx-1", "charging_state": "Charging"},
        evse={"id": 1, "connector_id": 1}, id_token={"id_token": "TAG", "type": "ISO14443"},
        meter_value=_power(0.0),
    ), suppress=False)  # fmt: skip


async def _follow(cp: Any, calm: Record, stop: asyncio.Event) -> None:
    """The truck draws what CP201's last TxProfile allows, up to 200 kW, and the station
    reports it (MeterValues), as a charger follows its limit."""
    seen = 0
    for _ in range(10_000):  # bounded; stopped by the test
        await wait_until(lambda n=seen: len(calm.profiles) > n or stop.is_set(), 120, "a profile")
        if stop.is_set():
            return
        seen = len(calm.profiles)
        limits = _tx_limits(calm)
        if limits:
            kw = min(limits[-1], 200_000.0) / 1000.0
            await cp.call(call201.MeterValues(1, _power(kw)), suppress=False)


async def test_bad_input_is_answered_and_felt_by_no_other_charger(tmp_path: Path) -> None:
    calm = Record()
    async with (
        ocpp_daemon(tmp_path) as (daemon, port),
        charge_point(port, "CP201", "2.0.1", calm) as cp,
    ):
        await _charging(cp)
        stop = asyncio.Event()
        follower = asyncio.create_task(_follow(cp, calm, stop))
        try:
            await wait_until(  # the cycle raises B3 as the truck follows
                lambda: any(w > 60_000.0 for w in _tx_limits(calm)), 30, "B3 above 60 kW"
            )
            await _each_bad_frame_answered(port)
            await _flood_while_the_limit_steps(daemon, port, calm, tmp_path / "edge.sock")
        finally:
            stop.set()
            await asyncio.wait_for(follower, 10)


async def _each_bad_frame_answered(port: int) -> None:
    ws = await _raw(port)
    assert (await _ask(ws, "not json"))[:3] == [4, "-1", "FormationViolation"]
    assert (await _ask(ws, '[7,"a1","Heartbeat",{}]'))[:3] == [4, "a1", "ProtocolError"]
    assert (await _ask(ws, '[2,"a2","FlyToTheMoon",{}]'))[:3] == [4, "a2", "NotImplemented"]
    assert (await _ask(ws, '[2,"a6","Reset",{"type":"Soft"}]'))[:3] == [4, "a6", "NotSupported"]
    bad = '[2,"a3","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"x"}]'
    assert (await _ask(ws, bad))[:2] == [4, "a3"]
    assert (await _ask(ws, '[2,"a4","Heartbeat",{}]'))[:2] == [3, "a4"]  # still served
    big = json.dumps([2, "a5", "DataTransfer", {"vendorId": "x", "data": "y" * 70_000}])
    await ws.send(big)
    with pytest.raises(ConnectionClosed) as closed:
        await _until_closed(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # message too big (RFC 6455 7.4.1)


async def _until_closed(ws: Any) -> None:
    async with asyncio.timeout(10):
        for _ in range(100):  # bounded: the close comes first
            await ws.recv()


async def _flood_while_the_limit_steps(daemon: Daemon, port: int, calm: Record, sock: Path) -> None:
    cycle = daemon.cycle
    assert cycle is not None
    ws = await _raw(port)  # the flooder is back, and floods
    answers: dict[str, list[Any]] = {}
    sent = [0]
    stop = asyncio.Event()
    reader = asyncio.create_task(_read_and_accept(ws, answers, sent, stop))
    flooder = asyncio.create_task(_flood(ws, answers, sent, stop))
    completed, overruns, failed = cycle.completed, cycle.overruns, cycle.failed
    starts: list[float] = []  # each cycle's start (monotonic) while the flood runs
    cycle.observers.append(lambda r: starts.append(r.at))
    before = len(calm.profiles)
    try:
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        step = {"node": "grid", "kw": 50, "until": until, "reason": "flood test"}
        await asyncio.to_thread(lambda: LocalApiClient(sock).call("limit-set", step))
        await wait_until(
            lambda: any(
                p["charging_schedule"][0]["charging_schedule_period"][0]["limit"] <= 50_000.0
                for p in calm.profiles[before:]
            ),
            20,
            "CP201's lower limit, mid-flood",
        )
        await wait_until(lambda: cycle.completed >= completed + 3, 20, "cycles mid-flood")
        assert not flooder.done()  # still flooding when the limit landed
    finally:
        stop.set()
        await asyncio.wait_for(flooder, 30)
        await asyncio.wait_for(reader, 30)
    assert (cycle.overruns, cycle.failed) == (overruns, failed)
    period = daemon.config.control.period_s
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) >= 2
    assert max(gaps) < 2 * period, gaps  # no period skipped: the loop was never starved
    assert sent[0] >= 3 * FLOOD_BATCH, sent
    assert set(answers) == {f"f{i}" for i in range(sent[0])}  # every CALL answered
    codes = {a[2] if a[0] == 4 else "ok" for a in answers.values()}
    assert codes <= {"ok", "GenericError"}
    assert "GenericError" in codes  # pushed back, never dropped unanswered
    await ws.close()


async def _flood(
    ws: Any, answers: dict[str, list[Any]], sent: list[int], stop: asyncio.Event
) -> None:
    """Heartbeats in batches far above the queue and `max_calls_per_s`, each batch as soon
    as the last is answered: self-clocked, as the daemon shares this process's event loop
    (a flood paced faster than the machine would measure the test, not the daemon)."""
    while not stop.is_set() and sent[0] < FLOOD_MAX:
        for _ in range(FLOOD_BATCH):
            await ws.send(json.dumps([2, f"f{sent[0]}", "Heartbeat", {}]))
            sent[0] += 1
        await wait_until(lambda: len(answers) >= sent[0], 30, "a flood batch answered")


async def _read_and_accept(
    ws: Any, answers: dict[str, list[Any]], sent: list[int], stop: asyncio.Event
) -> None:
    """Collect the answers to the flood; accept the endpoint's own calls meanwhile. After
    the flood stops, until every CALL sent is answered (bounded by the caller)."""
    with contextlib.suppress(ConnectionClosed):
        while not stop.is_set() or len(answers) < sent[0]:
            frame = json.loads(await ws.recv())
            if frame[0] == 2:
                await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
            else:
                answers[frame[1]] = frame
