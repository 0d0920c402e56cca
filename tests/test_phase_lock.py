"""The phase lock (`edge/drivers/phase_lock.py`): the fleet reads the site's polled chargers
right before its node meters, the deepest nodes' first and the root's last, over the real
drivers and a real Modbus peer on 127.0.0.1; a member that does not answer in time does not
hold the meters up."""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge.clock import SimClock, SystemClock
from edge.drivers.fleet import build_fleet
from edge.drivers.link_stats import Served
from edge.drivers.modbus_client import TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.phase_lock import PhaseLock, phase_lock
from edge.process_image import ProcessImage
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import MeterModel
from edge.sim.sim_unit import SimUnit, StaticModel
from edge.siteconf import load_site
from tests.peers import CLOCK, CapturingImage, running, tcp_link
from tests.test_writes import profile

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
CAN_CABINET = """
[[links]]
id = "can0"
type = "can"
interface = "virtual"
channel = "phase-lock-test"

[[devices]]
id = "cab-can"
kind = "charger"
profile = "edgehub-can-cabinet"
link = "can0"
"""


def test_the_fleet_reads_the_chargers_then_the_feeders_meters_then_the_grids(
    tmp_path: Path,
) -> None:
    """The demo: both cabinets, then the two plot meters, then the grid meter. A charger on
    CAN sends its frames when it likes: it is not in the lock."""
    text = DEMO.read_text(encoding="utf-8").replace(
        'device = "cabinet-2"\n', 'device = "cab-can"\n', 1
    )
    path = tmp_path / "site.toml"
    path.write_text(text + CAN_CABINET, encoding="utf-8")
    config = load_site(path)
    endpoints = {"sim-lan": TcpEndpoint("127.0.0.1", 1)}
    fleet = build_fleet(config, ProcessImage(3.0), SystemClock(), endpoints)
    lock = fleet.phase_lock
    assert lock is not None
    stages = [[m.id for m in stage] for stage in lock.stages]
    assert stages == [["cabinet-1"], ["plot-meter-main", "plot-meter-north"], ["grid-meter"]]
    assert lock.period_s == 1.0  # the profiles' fastest rate
    assert "reads:phase-lock" in [t.name for t in fleet.tasks()]


def test_a_site_without_polled_chargers_has_no_lock() -> None:
    config = load_site(DEMO)
    assert phase_lock(config, [], SimClock()) is None


async def test_every_meter_read_follows_the_cabinets_read_over_modbus() -> None:
    """A grid meter and a cabinet on one simulator, their drivers on one link, both at
    0.2 s: the cabinet's status-and-power block is read, then the meter's power block, in
    that order every time, and no read of those blocks happens outside the lock's bursts
    (the devices' own loops leave them be). The meter's reading is timed after the
    cabinet's, so the budget counts the bays as read before it."""
    meter_profile, cabinet_profile = profile("janitza-umg604"), profile("edgehub-dc-cabinet")
    server = SimModbusServer(
        [
            SimUnit(1, meter_profile, MeterModel(lambda wall: 120_000.0)),
            SimUnit(41, cabinet_profile, StaticModel({"power_w": 80_000.0})),
        ],
        CLOCK,
    )
    link = tcp_link(await server.start(), 0.5)
    image = CapturingImage()
    meter = ModbusDevice("grid-meter", 1, meter_profile, link, image, CLOCK, poll_s=0.2)
    cabinet = ModbusDevice("cabinet-1", 41, cabinet_profile, link, image, CLOCK, poll_s=0.2)
    lock = phase_lock(load_site(DEMO), [meter, cabinet], CLOCK)
    assert lock is not None
    fast = {(1, b.address) for b in meter.blocks if b.period_s == 0.2} | {
        (41, b.address) for b in cabinet.blocks if b.period_s == 0.2
    }
    served: list[Served] = []
    link.observers.append(served.append)

    def bursts() -> int:
        return sum(1 for s in served if s.unit == 1 and (1, s.address) in fast)

    try:
        async with running(link.run, meter.run, cabinet.run, lock.run):
            await image.wait_until(lambda: bursts() >= 6, timeout_s=20)
    finally:
        await server.stop()
    reads = [s.unit for s in served if not s.write and (s.unit, s.address) in fast]
    per_meter = sum(1 for b in meter.blocks if b.period_s == 0.2)
    per_cabinet = sum(1 for b in cabinet.blocks if b.period_s == 0.2)
    burst = [41] * per_cabinet + [1] * per_meter
    whole = len(reads) - len(reads) % len(burst)
    assert reads[:whole] == burst * (whole // len(burst)), reads
    meter_at = [r.at for d, p, r in image.ok("grid-meter") if p == "power_w"]
    cabinet_at = [r.at for d, p, r in image.ok("cabinet-1") if p == "power_w"]
    for m_at, c_at in zip(meter_at, cabinet_at, strict=False):
        assert c_at < m_at


class _Member:
    """A member whose read ends when the test says (a silent unit, a slow line)."""

    def __init__(self, name: str, log: list[str], answered: asyncio.Event | None = None) -> None:
        self.id, self._log, self._answered = name, log, answered
        self.locked_period_s = 1.0

    async def read_locked(self) -> None:
        self._log.append(f"{self.id}:asked")
        if self._answered is not None:
            await self._answered.wait()
        self._log.append(f"{self.id}:answered")


async def test_a_silent_charger_holds_the_meter_up_for_at_most_half_a_tick() -> None:
    """A cabinet that does not answer: the meter is read after `wait_s` anyway, and the
    cabinet is not asked again while its read is still running."""
    clock, log, answered = SimClock(), [], asyncio.Event()
    lock = PhaseLock([_Member("cab", log, answered)], [[_Member("grid", log)]], clock)
    task = asyncio.create_task(lock.run())
    try:
        for _ in range(3 * 20):  # three ticks in 50 ms steps (bounded)
            clock.advance(0.05)
            for _ in range(10):
                await asyncio.sleep(0)
        assert log[:3] == ["cab:asked", "grid:asked", "grid:answered"]
        assert log.count("cab:asked") == 1  # still running: not asked twice
        assert log.count("grid:answered") == 3  # one a tick, each after at most 0.5 s
        answered.set()
        for _ in range(10):
            await asyncio.sleep(0)
        assert log[-1] == "cab:answered"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
