"""A child process of OCPP 1.6J charge points (the `ocpp` package) for bench.ocpp_step: each
connects to the endpoint, boots, and accepts every SetChargingProfile.

    python -m bench.ocpp_step_points PORT COUNT PASSWORD

Prints `ready N` once all have booted; runs until terminated.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result


class Point(ChargePoint):  # type: ignore[misc]
    @on("SetChargingProfile")
    def on_profile(self, **kw: Any) -> Any:
        return call_result.SetChargingProfile("Accepted")

    @on("ChangeConfiguration")
    def on_config(self, **kw: Any) -> Any:
        return call_result.ChangeConfiguration("Accepted")


async def one(port: int, name: str, password: str, booted: asyncio.Queue[str]) -> None:
    url = f"ws://{name}:{password}@127.0.0.1:{port}/ocpp/{name}"
    async with websockets.connect(url, subprotocols=["ocpp1.6"]) as ws:  # type: ignore[list-item]
        cp = Point(name, ws)
        task = asyncio.create_task(cp.start())
        await cp.call(call.BootNotification("bench", "edge"), suppress=False)
        await booted.put(name)
        await task


async def main(port: int, count: int, password: str) -> None:
    booted: asyncio.Queue[str] = asyncio.Queue()
    tasks = [asyncio.create_task(one(port, f"CP{i:02d}", password, booted)) for i in range(count)]
    for _ in range(count):
        await booted.get()
    print(f"ready {count}", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
