"""Decision time through the gate lane's shell: from an RFID read reaching the lane to the
open command confirmed on the I/O coupler (a WAGO 750-352 profile served by the Modbus
simulator on 127.0.0.1, write plus read-back), against the raw baseline measured in the same
run: the same confirmed coil write alone. Then an ad-hoc plate read (an electric truck no
booking knows) on a site of 1,200 bays and 5,000 bookings, 1,000 of them due within the
horizon (`bench.access.make_site`): the whole admission through the lane's `EntryDecider`
(the first read builds the plate directory and the due index: that one is the maximum).

    python -m bench.gate_lane [RUNS]
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from dataclasses import replace

from bench.access import NOW, make_site, show
from edge.access.admission import Site, VehicleClass, needs_for
from edge.access.bookings import Period
from edge.access.entry import CredentialRead, EntryRules, Ledger, ReadKind
from edge.access.gate_machine import boot
from edge.access.gate_types import Lane, Sensors
from edge.clock import SimClock, SystemClock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.gates.decide import EntryDecider, MemoryBookings
from edge.gates.lane import LaneDriver
from edge.process_image import ProcessImage
from edge.qr_signature import SiteKeys
from edge.sessions import BayState
from edge.sim.modbus_server import SimModbusServer, SimUnit
from edge.sim.sim_unit import StaticModel
from edge.siteconf.model import Connector
from tests.test_access_entry import BAY, booking
from tests.test_gate_lane import gate

CLOCK = SystemClock()


async def run(runs: int) -> None:
    profile = shipped_catalog()["wago-750-352-dio"]
    server = SimModbusServer([SimUnit(1, profile, StaticModel({}))], CLOCK)  # type: ignore[arg-type]
    port = await server.start()
    link = ModbusLink("lan", ModbusClient(TcpEndpoint("127.0.0.1", port), 1.0), CLOCK)
    device = ModbusDevice("io", 1, profile, link, ProcessImage(60, 60), CLOCK, startup={})  # type: ignore[arg-type]
    link_task = asyncio.create_task(link.run())
    site = make_site(1200, 1000, 4000, random.Random(8))  # loaded long before a truck comes
    now = CLOCK.wall()
    bk = replace(booking(), period=Period(now - 60, now + 3600))  # in its window now
    decider = EntryDecider(
        MemoryBookings([bk]), [BAY], lambda: {"b1": BayState.AVAILABLE}, EntryRules(SiteKeys({}))
    )
    lane = LaneDriver(gate(), device, CLOCK, decider)
    try:
        raw, full = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            await device.write_point("output_1", 1.0)
            raw.append((time.perf_counter() - t0) * 1000)
            await device.write_point("output_1", 0.0)
            decider.ledger = Ledger()  # a new truck each run: nobody inside yet
            wall = CLOCK.wall()
            lane.lane = boot(Lane.new(lane.config, Sensors(loop_a=True), wall), wall)[0]
            read = CredentialRead(ReadKind.RFID, "04AABBCC", "rfid-1", wall)
            t0 = time.perf_counter()
            await lane.on_read(read)
            full.append((time.perf_counter() - t0) * 1000)
            assert lane.output_level == 1.0, lane.status()
        base = show("baseline: one confirmed coil write (write + read-back)", raw)
        show("RFID read -> admission -> confirmed open write", full, base)
        fleet = await ad_hoc(device, site, runs)
        show("ad hoc plate, 1,000 due -> admission -> confirmed open", fleet, base)
    finally:
        link_task.cancel()
        await asyncio.gather(link_task, return_exceptions=True)
        await server.stop()


async def ad_hoc(device: ModbusDevice, site: Site, runs: int) -> list[float]:
    """Unbooked electric trucks, one per run, inlet not declared (CCS or MCS, either side)."""
    rules = EntryRules(SiteKeys({}))
    rules = replace(rules, policy=replace(rules.policy, ad_hoc_needs=needs_for(list(Connector))))
    states = dict(site.states)
    decider = EntryDecider(MemoryBookings(site.bookings), site.bays, lambda: states, rules)
    g = replace(gate(), plot="north")
    lane = LaneDriver(g, device, SimClock(NOW), decider)  # the site's bookings are around NOW
    out = []
    for i in range(runs):
        await device.write_point("output_1", 0.0)
        decider.ledger = Ledger()
        decider._transit.clear()  # each truck alone: none of the earlier ones driving in
        lane.lane = boot(Lane.new(lane.config, Sensors(loop_a=True), NOW), NOW)[0]
        read = CredentialRead(
            ReadKind.PLATE, f"NEW{i:04d}", "cam", NOW, vehicle=VehicleClass.ELECTRIC_TRUCK
        )
        t0 = time.perf_counter()
        await lane.on_read(read)
        out.append((time.perf_counter() - t0) * 1000)
        assert lane.output_level == 1.0, (lane.status(), decider.recent[-1])
    return out


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {runs} runs each")
    asyncio.run(run(runs))


if __name__ == "__main__":
    main()
