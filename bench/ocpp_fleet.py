"""Thirty simulated OCPP charge points, each with a truck charging, connected to a CSMS on
loopback: the time from sending every charge point a new TxProfile (a site-limit step) to
all of them acknowledging it, p50 / p99 over the rounds; each charge point's own
acknowledgement time too. Against a raw baseline in the same run: the same number of plain
websocket clients answering the same frame with a canned CALLRESULT (no `ocpp` package,
no plant), so the ratio is what the package and the simulated charge point cost.

    python -m bench.ocpp_fleet [--cps 30] [--rounds 50] [--version 1.6|2.0.1]

The charge points run in a child process (`--fleet URL`), as they would against the real
edge: to re-point it, start the edge's endpoint and run the child alone with its URL (the
profile sending then comes from the edge's own control cycle). The CSMS here is the test
peer `edge.sim.ocpp_csms.TestCsms`. Load average and both processes' CPU are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from typing import Any

from ocpp.v16 import call as c16
from ocpp.v201 import call as c201
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bench._common import summary
from edge.clock import SystemClock
from edge.sessions import SessionKind
from edge.sim.ocpp_config import V16, CpConfig
from edge.sim.ocpp_csms import TestCsms
from edge.sim.ocpp_fleet import OcppFleet
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf.loader import load_site

SITE = load_site("config/antwerp-bruges.toml")


def profile(version: str, connector: int, tx: str, limit_w: float, pid: int) -> Any:
    period = [{"start_period": 0, "limit": limit_w}]
    if version == V16:
        return c16.SetChargingProfile(
            connector,
            {
                "charging_profile_id": pid,
                "stack_level": 1,
                "charging_profile_purpose": "TxProfile",
                "charging_profile_kind": "Relative",
                "transaction_id": int(tx),
                "charging_schedule": {
                    "charging_rate_unit": "W",
                    "charging_schedule_period": period,
                },
            },
        )
    schedule = [{"id": pid, "charging_rate_unit": "W", "charging_schedule_period": period}]
    return c201.SetChargingProfile(
        connector,
        {
            "id": pid,
            "stack_level": 1,
            "charging_profile_purpose": "TxProfile",
            "charging_profile_kind": "Relative",
            "transaction_id": tx,
            "charging_schedule": schedule,
        },
    )


# ---- the child: the fleet ----------------------------------------------------------------


async def run_fleet(url: str, cps: int, version: str) -> None:
    clock = SystemClock()
    plant = Plant(
        SITE.limits, SITE.chargers, SITE.bays, SITE.timezone, clock.wall(), Weather(pv_kw=0)
    )
    bays = [b.id for b in SITE.bays][:cps]
    configs = [
        CpConfig(f"cp-{bay}", {1: bay}, version=version, meter_every_s=10.0, heartbeat_s=60.0)
        for bay in bays
    ]
    now = clock.wall()
    for bay in bays:
        plant.arrive(
            TruckSpec(
                f"T{bay}",
                SessionKind.OVERNIGHT,
                "CCS",
                now,
                now + 86_400,
                600_000.0,
                0.1,
                500_000.0,
                CCS_MAX_W,
            ),
            bay,
        )
    fleet = OcppFleet(url, plant, clock, configs, step_s=0.2)
    await fleet.start()
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until told
    finally:
        await fleet.stop()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        print(f"fleet_cpu_s {usage.ru_utime + usage.ru_stime:.2f}", flush=True)


async def run_raw_clients(url: str, cps: int) -> None:
    """The baseline's clients: answer every CALL with a canned Accepted."""

    async def client(i: int) -> None:
        async with connect(f"{url}/raw-{i}", proxy=None) as ws:
            async for frame in ws:
                msg = json.loads(frame)
                await ws.send(json.dumps([3, msg[1], {"status": "Accepted"}]))

    tasks = [asyncio.create_task(client(i)) for i in range(cps)]
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---- the parent: the CSMS side and the timing ---------------------------------------------


def child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.ocpp_fleet", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def stop_child(proc: subprocess.Popen[str]) -> str:
    try:
        out, _ = proc.communicate("stop\n", timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
    return out.strip()


async def ocpp_rounds(cps: int, rounds: int, version: str) -> tuple[list[float], list[float], str]:
    async with TestCsms() as csms:
        proc = child("--fleet", csms.url, "--cps", str(cps), "--version", version)
        try:
            txs = await _transactions(csms, cps, version)
            alls, each = [], []
            for r in range(rounds):
                limit = 100_000.0 + 10_000.0 * (r % 10)
                t0 = time.perf_counter()

                async def one(
                    identity: str, tx: str, limit: float = limit, t0: float = t0, pid: int = 100 + r
                ) -> float:
                    reply = await csms.call(identity, profile(version, 1, tx, limit, pid))
                    assert reply.status == "Accepted", reply
                    return time.perf_counter() - t0

                done = await asyncio.gather(*(one(i, tx) for i, tx in txs.items()))
                alls.append(max(done) * 1e3)
                each.extend(d * 1e3 for d in done)
        finally:
            cpu = await asyncio.to_thread(stop_child, proc)
    return alls, each, cpu


async def _transactions(csms: TestCsms, cps: int, version: str) -> dict[str, str]:
    """Every charge point connected and its transaction known (bounded wait)."""
    key = "StartTransaction" if version == V16 else "TransactionEvent"
    async with asyncio.timeout(60):
        while len([p for p in csms.peers.values() if p.actions(key)]) < cps:  # noqa: ASYNC110 (30 peers, no one event)
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # 1.6: the StartTransaction replies reach the charge points
    return {i: p.transactions[-1] for i, p in csms.peers.items()}


async def raw_rounds(cps: int, rounds: int, version: str) -> list[float]:
    conns: list[ServerConnection] = []
    replies: dict[str, asyncio.Future[None]] = {}

    async def handler(ws: ServerConnection) -> None:
        conns.append(ws)
        with contextlib.suppress(ConnectionClosed):  # the clients go at the end
            async for frame in ws:
                fut = replies.get(json.loads(frame)[1])
                if fut is not None and not fut.done():
                    fut.set_result(None)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        proc = child("--raw", f"ws://127.0.0.1:{port}", "--cps", str(cps))
        try:
            async with asyncio.timeout(30):
                while len(conns) < cps:  # noqa: ASYNC110 (connections arriving, no one event)
                    await asyncio.sleep(0.02)
            frame = profile(version, 1, "1", 100_000.0, 1)
            payload = json.loads(json.dumps(frame.__dict__, default=str))
            alls = []
            for r in range(rounds):
                loop = asyncio.get_running_loop()
                ids = [f"{r}-{k}" for k in range(cps)]
                replies.update({i: loop.create_future() for i in ids})
                t0 = time.perf_counter()
                for ws, i in zip(conns, ids, strict=True):
                    await ws.send(json.dumps([2, i, "SetChargingProfile", payload]))
                await asyncio.gather(*(replies[i] for i in ids))
                alls.append((time.perf_counter() - t0) * 1e3)
        finally:
            await asyncio.to_thread(stop_child, proc)
    return alls


async def main(cps: int, rounds: int, version: str) -> None:
    print(f"ocpp_fleet: {cps} charge points (OCPP {version}), {rounds} profile steps")
    print(f"load average before: {os.getloadavg()}")
    raw = await raw_rounds(cps, rounds, version)
    t = time.process_time()
    alls, each, fleet_cpu = await ocpp_rounds(cps, rounds, version)
    csms_cpu = time.process_time() - t
    print(f"raw websocket baseline, all {cps} answered (ms): {summary(raw)}")
    print(f"ocpp, all {cps} acknowledged their TxProfile (ms): {summary(alls)}")
    print(f"ocpp, each charge point's acknowledgement (ms): {summary(each)}")
    med = sorted(alls)[len(alls) // 2] / max(1e-9, sorted(raw)[len(raw) // 2])
    print(f"ratio ocpp / raw (median, all acknowledged): {med:.1f}x")
    print(f"CPU: CSMS side (this process) {csms_cpu:.2f} s; {fleet_cpu} (incl. start-up)")
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cps", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=50)
    ap.add_argument("--version", default=V16, choices=[V16, "2.0.1"])
    ap.add_argument("--fleet", help="child: run the fleet against this URL")
    ap.add_argument("--raw", help="child: run the raw baseline clients against this URL")
    a = ap.parse_args()
    if a.fleet:
        asyncio.run(run_fleet(a.fleet, a.cps, a.version))
    elif a.raw:
        asyncio.run(run_raw_clients(a.raw, a.cps))
    else:
        asyncio.run(main(a.cps, a.rounds, a.version))
