"""The lane driver against the Modbus I/O simulator: a WAGO 750-352 profile served by pymodbus
on 127.0.0.1, a barrier model behind it that behaves like a certified drive (it does not
close on a vehicle under the boom)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import pytest

from edge.access.entry import CredentialRead, EntryRules, ReadKind
from edge.access.gate_types import GateState
from edge.clock import SimClock
from edge.drivers.modbus_device import ModbusDevice
from edge.gates.decide import EntryDecider, MemoryBookings
from edge.gates.lane import WRITE_RETRY_S, LaneDriver
from edge.qr_signature import SiteKeys, TokenIssuer
from edge.sessions import BayState
from edge.sim.modbus_server import SimModbusServer, SimUnit
from edge.siteconf.model import Bay, Connector, GateLane, InletSide, PointRef
from tests.peers import CLOCK, CapturingImage, running, tcp_link
from tests.test_access_entry import booking
from tests.test_writes import profile

BAY = Bay("b1", "p1", "c1", Connector.CCS, 400, (InletSide.LEFT,))
IO = "io"
INPUTS = {"loop_a": "input_1", "loop_b": "input_2", "photocell": "input_3"}
INPUTS |= {"opened": "input_7", "closed": "input_8"}


def gate(direction: str = "entry", output: str = "output_1") -> GateLane:
    ref = {k: PointRef(IO, p) for k, p in INPUTS.items()}
    return GateLane(
        id=f"{direction}-p1",
        plot="p1",
        direction=direction,
        barrier_output=PointRef(IO, output),
        vehicle_sensor=ref["loop_a"],
        safety_loop=ref["loop_b"],
        reader_port=None,
        photocell=ref["photocell"],
        position_open=ref["opened"],
        position_closed=ref["closed"],
    )


@dataclass
class Barrier:
    """The drive behind output_1: 1 opens it; 0 closes it unless a vehicle is under it."""

    present: dict[str, bool] = field(default_factory=lambda: dict.fromkeys(INPUTS, False))
    output: float = 0.0
    up: bool = False
    writes: list[tuple[float, bool]] = field(default_factory=list)  # (value, presence)

    def presence(self) -> bool:
        return any(self.present[k] for k in ("loop_a", "loop_b", "photocell"))

    def values(self, wall: float) -> dict[str, float]:
        if self.output == 1.0:
            self.up = True
        elif not (self.present["loop_b"] or self.present["photocell"]):
            self.up = False  # the drive's own safety inputs keep it up over a vehicle
        out = {INPUTS[k]: float(v) for k, v in self.present.items() if k in INPUTS}
        out[INPUTS["opened"]], out[INPUTS["closed"]] = float(self.up), float(not self.up)
        return out

    def on_write(self, point: str, value: float, wall: float) -> None:
        if point == "output_1":
            self.output = value
            self.writes.append((value, self.presence()))


@dataclass
class Rig:
    barrier: Barrier
    unit: SimUnit
    image: CapturingImage
    device: ModbusDevice
    clock: SimClock
    bookings: MemoryBookings
    records: list[tuple[str, dict[str, str]]]

    def driver(self, lane: GateLane | None = None) -> LaneDriver:
        decider = EntryDecider(
            self.bookings,
            [BAY],
            lambda: {"b1": BayState.AVAILABLE},
            EntryRules(SiteKeys({1: TokenIssuer(key_id=1).public_bytes()})),
            self,
        )
        return LaneDriver(lane or gate(), self.device, self.clock, decider, self)

    def record(self, kind: str, **fields: str) -> None:
        self.records.append((kind, fields))

    async def see(self, driver: LaneDriver, **present: bool) -> None:
        """Set the inputs, wait until a poll read them back, feed the lane one snapshot."""
        self.barrier.present.update(present)
        seen = len(self.image.history)
        await self.image.wait_until(lambda: len(self.image.history) > seen + 8, 10.0)
        await driver.on_snapshot(self.image.freeze(CLOCK.monotonic(), CLOCK.wall()))

    def commands(self) -> list[str]:
        return [f["cmd"] for kind, f in self.records if kind == "gate-command"]


@asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    barrier = Barrier()
    unit = SimUnit(1, profile("wago-750-352-dio"), barrier)
    server = SimModbusServer([unit], CLOCK)
    link = tcp_link(await server.start(), 1.0)
    image = CapturingImage()
    device = ModbusDevice(IO, 1, unit.profile, link, image, CLOCK, startup={})
    try:
        async with running(link.run, device.run):
            yield Rig(barrier, unit, image, device, SimClock(), MemoryBookings([booking()]), [])
    finally:
        await server.stop()


def rfid(clock: SimClock) -> CredentialRead:
    return CredentialRead(ReadKind.RFID, "04AABBCC", "rfid-1", clock.wall())


async def test_truck_arms_is_identified_opens_passes_and_the_boom_closes() -> None:
    async with rig() as r:
        lane = r.driver()
        await lane.start()
        await r.see(lane)
        assert lane.state() == "idle"
        await r.see(lane, loop_a=True)
        assert lane.state() == "armed"
        await lane.on_read(rfid(r.clock))
        assert lane.state() == "opening"
        await r.see(lane)
        assert lane.state() == "open"
        await r.see(lane, loop_b=True)  # a long truck covers both loops: one vehicle
        await r.see(lane, loop_a=False)
        await r.see(lane, loop_b=False)
        assert lane.state() == "passing"  # loop B clear, but not yet for clear_s
        r.clock.advance(lane.config.clear_s)
        await r.see(lane)
        assert lane.state() == "closing"
        await r.see(lane)
        assert lane.state() == "idle"
    # outputs off at start, again at boot (the machine's own rule), open, close once clear
    assert r.commands() == ["outputs-off", "outputs-off", "open", "close"]
    off = (0.0, False)  # the coupler's own startup write comes first (profile [startup])
    assert r.barrier.writes == [off, off, off, (1.0, True), off]
    assert ("admission", "Accepted") in [(k, f.get("reason")) for k, f in r.records]


async def test_restart_with_a_truck_on_the_loop_neither_closes_nor_replays_the_open() -> None:
    async with rig() as r:
        first = r.driver()
        await first.start()
        await r.see(first)
        await r.see(first, loop_a=True)
        await first.on_read(rfid(r.clock))
        await r.see(first, loop_b=True)
        assert first.state() == "passing"
        again = r.driver()  # the daemon restarts: a new driver, the truck still under the boom
        await again.start()
        await r.see(again)
        assert again.lane is not None
        assert not again.lane.authorised
        assert again.lane.state in (GateState.OPEN, GateState.PASSING)
        for _ in range(3):
            r.clock.advance(again.config.pass_timeout_s)
            await r.see(again)
        assert "close" not in r.commands()  # never while something is present
        await r.see(again, loop_a=False, loop_b=False)
        assert again.state() in ("closing", "idle")
    after_restart = r.barrier.writes[4:]
    # outputs off at start and boot (the truck under the boom: the drive holds it up), then
    # the close once all is clear; no open replayed
    assert after_restart == [(0.0, True), (0.0, True), (0.0, False)]
    assert r.commands() == [
        "outputs-off",
        "outputs-off",
        "open",
        "outputs-off",
        "outputs-off",
        "close",
    ]


async def test_unknown_card_is_denied_and_nothing_opens() -> None:
    async with rig() as r:
        lane = r.driver()
        await lane.start()
        await r.see(lane, loop_a=True)
        await lane.on_read(replace(rfid(r.clock), value="DEADBEEF"))
        assert lane.state() in ("denied", "referred")
    assert "open" not in r.commands()


async def test_exit_lane_lets_a_truck_out_without_a_read() -> None:
    async with rig() as r:
        lane = r.driver(gate("exit"))
        await lane.start()
        await r.see(lane, loop_a=True)
        assert lane.state() == "opening"
    assert r.commands() == ["outputs-off", "outputs-off", "open"]


@pytest.mark.parametrize("direction", ["entry", "exit"])
async def test_lost_inputs_fail_secure_on_entry_and_open_on_exit(direction: str) -> None:
    async with rig() as r:
        lane = r.driver(gate(direction))
        await lane.start()
        await r.see(lane)
        r.image.put(IO, "input_2", replace(r.image.history[-1][2], value=None))
        await lane.on_snapshot(r.image.freeze(CLOCK.monotonic(), CLOCK.wall()))
        assert lane.state() == "fault"
    expected = "hold-open" if direction == "exit" else "outputs-off"
    assert r.commands() == ["outputs-off", "outputs-off", expected]


async def test_release_of_a_hold_with_a_truck_under_the_boom_does_not_close() -> None:
    async with rig() as r:
        lane = r.driver()
        await lane.start()
        await r.see(lane)
        assert await lane.hold_open("fire drill", "tech") == "held-open"
        await r.see(lane, loop_b=True)
        await lane.release("tech")
        for _ in range(2):
            r.clock.advance(lane.config.pass_timeout_s)
            await r.see(lane)
        assert "close" not in r.commands()  # the hold's end never closes over a vehicle
        await r.see(lane, loop_b=False)
        assert lane.state() in ("closing", "idle")
    assert r.commands()[-1] == "close"
    assert [k for k, _ in r.records if k.startswith("gate-") and k != "gate-command"] == [
        "gate-hold-open",
        "gate-release",
    ]


@pytest.mark.parametrize("direction", ["entry", "exit", "both"])
def test_the_safe_state_and_the_lane_fail_the_same_way(direction: str) -> None:
    from edge.gates.lane import lane_config
    from edge.safe_state import lane_safe_value

    lane = gate(direction)
    assert lane_safe_value(lane) == (1.0 if lane_config(lane).exit else 0.0)


async def test_a_failed_open_write_is_an_io_fault_and_the_entry_lane_stays_shut() -> None:
    async with rig() as r:
        lane = r.driver()
        await lane.start()
        await r.see(lane, loop_a=True)
        r.unit.fault.exception = 4  # the coupler refuses writes (slave device failure)
        await lane.on_read(rfid(r.clock))
        assert lane.state() == "fault"
        assert lane.output_level is None  # unknown: not confirmed
        assert lane.status()["io_ok"] is False
        r.unit.fault.exception = None  # the coupler is back
        await r.see(lane)
        assert lane.state() == "fault"  # no retry on every snapshot
        r.clock.advance(WRITE_RETRY_S)
        await r.see(lane)
        assert lane.state() == "armed"  # outputs off again, then the inputs: no open replayed
    assert (1.0, True) not in r.barrier.writes


async def test_a_truck_moving_from_loop_a_to_loop_b_in_one_poll_is_never_closed_on() -> None:
    async with rig() as r:
        lane = r.driver()
        await lane.start()
        await r.see(lane)
        await r.see(lane, loop_a=True)
        await lane.on_read(rfid(r.clock))
        await r.see(lane)
        assert lane.state() == "open"
        r.clock.advance(lane.config.pass_timeout_s)  # it took its time
        await r.see(lane, loop_a=False, loop_b=True)  # both changes in one snapshot
        assert "close" not in r.commands()
        assert lane.state() == "passing"
