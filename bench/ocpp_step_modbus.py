"""The Modbus side of bench.ocpp_step: the same site-limit step through the charger port,
with Modbus TCP chargers instead of OCPP ones. 15 Alpitronic HYC cabinets (two connectors
each: 30 bays) on one simulator process (unit ids 1..15, static image) behind one link
(one socket, as through a gateway: the simulator's server mixed up unit ids when several
sockets asked at once, so one link it is; its requests are serialised); each step is
`SitePort.apply` of all 30 bays (FC16 write + FC3 read-back per connector) to the last confirmation.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

from bench._common import child, sim
from edge.chargers.device_charger import BayConnector, DeviceCharger
from edge.chargers.port import Outcome
from edge.chargers.site_port import SitePort
from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.process_image import ProcessImage


async def steps(port: int, cabinets: int, count: int) -> tuple[float, float]:
    """(median wall s, CPU s per step) of `count` steps over `cabinets` cabinets."""
    clock = SystemClock()
    profile = shipped_catalog()["alpitronic-hyc"]
    assert isinstance(profile, Profile)
    link = ModbusLink("lan", ModbusClient(TcpEndpoint("127.0.0.1", port), 1.0), clock)
    chargers = []
    for n in range(1, cabinets + 1):
        device = ModbusDevice(f"hyc{n}", n, profile, link, ProcessImage(3.0), clock, startup={})
        conns = [BayConnector(f"B{n}a", 1), BayConnector(f"B{n}b", 2)]
        chargers.append(DeviceCharger(f"ch{n}", device, conns))
    runners = [asyncio.create_task(link.run())]
    site = SitePort(chargers)
    bays = [b for ch in chargers for b in ch.bays]
    try:
        walls, cpu0 = [], time.process_time()
        for k in range(count):
            kw = 100.0 + 50.0 * (k % 2) + 0.5 * k
            t0 = time.perf_counter()
            result = await site.apply(dict.fromkeys(bays, kw * 1000.0))
            walls.append(time.perf_counter() - t0)
            assert all(w.outcome is Outcome.CONFIRMED for w in result.writes), result.failed()
        return statistics.median(walls), (time.process_time() - cpu0) / count
    finally:
        for r in runners:
            r.cancel()
        for r in runners:
            with contextlib.suppress(asyncio.CancelledError):
                await r


async def measure(cabinets: int, count: int, rounds: int) -> tuple[float, float]:
    """Median over `rounds` of (wall s, CPU s) per step, the simulator in its own process."""
    args = sim("tcp", "--units", str(cabinets), "--profile", "alpitronic-hyc", "--static")
    with child(args, "port ") as (_, line):
        port = int(line.split()[1])
        got = [await steps(port, cabinets, count) for _ in range(rounds)]
    return statistics.median(w for w, _ in got), statistics.median(c for _, c in got)
