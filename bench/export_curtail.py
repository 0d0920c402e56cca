"""Export curtailment over loopback Modbus: a simulated SunSpec inverter (models 1/701/702/704)
and a grid meter that sees its output on one pymodbus server on 127.0.0.1, polled by the
real drivers; the export controller of the demo site (400 kW export limit). Each trial
steps the site's load so the limit must change, then times one controller period (decide +
the SunSpec limit write: read the model, 5 point writes, read it back) and counts the
periods until the meter shows export within the target. A bare pymodbus read of the
inverter's 704 block from the same server in the same run is the baseline.

    python -m bench.export_curtail [--trials 20]

No asserts: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time

from pymodbus.client import AsyncModbusTcpClient

from edge.clock import SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile
from edge.drivers.sunspec_device import SunSpecDevice
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.export_control import ExportController, SunSpecLimit
from edge.process_image import ProcessImage
from edge.readings import Grade
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import MeterModel
from edge.sim.sim_unit import SimUnit
from edge.sim.sunspec_sim import SunSpecSimUnit
from edge.siteconf import load_site

CLOCK = SystemClock()
RATED_W = 500_000.0
LOADS = (50_000.0, 20_000.0, 80_000.0, 0.0)  # export 450, 480, 420, 500 kW before curtailment


async def bare_read(port: int, address: int, count: int, n: int) -> list[float]:
    client = AsyncModbusTcpClient("127.0.0.1", port=port)
    await client.connect()
    out = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            await client.read_holding_registers(address, count=count, device_id=1)
            out.append(time.perf_counter() - t0)
    finally:
        client.close()
    return out


async def main(trials: int) -> None:
    catalog = shipped_catalog()
    inverter = SunSpecSimUnit(1, lambda wall: RATED_W, RATED_W)
    load = [LOADS[0]]
    meter_profile = catalog["janitza-umg604"]
    sunspec = catalog["sunspec-inverter"]
    assert isinstance(meter_profile, Profile)
    assert isinstance(sunspec, SunSpecProfile)
    meter = SimUnit(2, meter_profile, MeterModel(lambda t: load[0] - inverter.output_w(t)))
    server = SimModbusServer([inverter, meter], CLOCK)
    port = await server.start()
    link = ModbusLink("lan", ModbusClient(TcpEndpoint("127.0.0.1", port), 1.0), CLOCK)
    image = ProcessImage(60.0, 60.0)
    pv = SunSpecDevice("pv-inverter", 1, sunspec, link, image, CLOCK, poll_s=0.1)
    grid = ModbusDevice("grid-meter", 2, meter_profile, link, image, CLOCK, poll_s=0.1)
    site = load_site(__import__("pathlib").Path("config/demo.toml"))
    ctl = ExportController(site, {"pv-inverter": SunSpecLimit(pv, 30.0)}, lambda: ())
    target = ctl.limit_w - ctl.margin_w
    tasks = [asyncio.create_task(job()) for job in (link.run, pv.run, grid.run)]
    steps, periods = [], []
    try:
        for _ in range(200):  # bounded: until both devices read
            snap = image.freeze(CLOCK.monotonic(), CLOCK.wall())
            if snap.grade("grid-meter", "power_w") is Grade.FRESH and snap.value(
                "pv-inverter", "rated_power_w"
            ):
                break
            await asyncio.sleep(0.05)
        for trial in range(trials):
            load[0] = LOADS[trial % len(LOADS)]
            for n in range(1, 21):
                t0 = time.perf_counter()
                await ctl.step(image.freeze(CLOCK.monotonic(), CLOCK.wall()))
                steps.append(time.perf_counter() - t0)
                await asyncio.sleep(0.3)  # a few meter polls
                snap = image.freeze(CLOCK.monotonic(), CLOCK.wall())
                grid_w = snap.value("grid-meter", "power_w")
                if grid_w is not None and -grid_w <= target:
                    periods.append(n)
                    break
        bare = await bare_read(port, inverter.locations[704].address, 40, 50)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await server.stop()
    ms = sorted(s * 1000 for s in steps)
    rt = statistics.median(bare) * 1000
    print(f"controller period (decide + write when changed): p50 {statistics.median(ms):.2f} ms,")
    print(f"  max {ms[-1]:.2f} ms over {len(ms)} periods")
    print(f"bare pymodbus read of the 704 block: p50 {rt:.3f} ms")
    print(f"ratio p50 period / bare read: {statistics.median(ms) / rt:.1f}x")
    print(f"periods until the meter shows export within target: {periods}")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--trials", type=int, default=20)
    asyncio.run(main(p.parse_args().trials))
