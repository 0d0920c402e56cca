"""Reaction over loopback Modbus: the whole daemon in-process on the demo site with two
simulated DC cabinets (ch01, ch02; a truck on each of the four bays) and the grid limit at
800 kW, so the bays charge at it. Each trial steps the simulated grid meter's reading up
(a base-load jump that leaves the bays half of what they hold) at a random phase of the
control cycle, and times, from the step, the moment the setpoints last written to the
cabinets' registers (the simulator's write log, timestamped here) together fit the new
budget: every decrease written. Then the step is undone and the bays allowed back up.
A bare pymodbus read of the grid meter plus a setpoint write to a twin of the site's
simulator (same server class and profiles, same process, same run) is the baseline.

    python -m bench.reaction [--trials 10] [--meter-poll 0.1]

The grid meter is polled every `--meter-poll` s (the site's `devices[].poll_s`; 0: the
profile's 1 s): the controller writes decreases as soon as its fresh value arrives. The
cabinets are read right before the node meters (the phase lock, `edge/drivers/phase_lock.py`),
at their profile's 1 s.

Figures: reaction p50/p99, the control period, the bare round trip, and the overhead in
round trips beyond one period. No asserts: figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edge.clock import SystemClock
from edge.runtime import Daemon
from edge.sessions import SessionKind
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import MeterModel
from edge.sim.plant import Plant
from edge.sim.plant_models import PlantCabinet
from edge.sim.sim_unit import ServedUnit, SimUnit, StaticModel
from edge.sim.trucks import TruckSpec
from edge.siteconf import load_site

DEMO = Path(__file__).resolve().parent.parent / "config" / "demo.toml"
LIMIT_W = 800_000.0
BASE_W, STEP_W = 60_000.0, 560_000.0
SETPOINTS = ("power_setpoint_w", "connector_2_power_setpoint_w")


SETTLED_W = 5_000.0  # a setpoint trimmed by less than this does not unsettle a trial
CABINET_UNITS = (41, 42)  # the demo's two reference DC cabinets (ch01, ch02)


def site_file(tmp: Path, meter_poll_s: float | None = None) -> Path:
    """The demo (ch01 and ch02 on its two cabinets) with fast ramps and an 800 kW limit;
    the grid meter polled every `meter_poll_s` (None: its profile's 1 s)."""
    text = DEMO.read_text()
    if meter_poll_s is not None:
        grid = 'profile = "janitza-umg604"\n'
        text = text.replace(grid, f"{grid}poll_s = {meter_poll_s:g}\n", 1)
    text = text.replace("import_kw = 600", f"import_kw = {LIMIT_W / 1000:g}", 2)  # grid, main
    for device in ("cabinet-1", "cabinet-2"):
        text = text.replace(f'device = "{device}"\n', f'device = "{device}"\nramp_kw_s = 2000\n', 1)
    text = text.replace('state_dir = "/tmp/edge-demo-state"', f'state_dir = "{tmp / "state"}"')
    path = tmp / "site.toml"
    path.write_text(text)
    return path


class WriteLog:
    """The cabinets' setpoint writes with the time each reached the simulator: each unit's
    model is wrapped, so every decoded write passes through here on its way to the model."""

    def __init__(self, cabinets: list[SimUnit]) -> None:
        self.latest: dict[tuple[int, str], float] = {}
        self.changed_at = 0.0  # the last write that moved a setpoint by more than SETTLED_W
        self.written_at = 0.0  # the last write
        self.on_record: Callable[[tuple[int, str], float], None] | None = None
        for cab in cabinets:
            assert isinstance(cab.model, PlantCabinet)
            cab.model = _Tap(cab.unit, cab.model, self)

    def record(self, unit: int, point: str, value: float) -> None:
        if point in SETPOINTS:
            old = self.latest.get((unit, point))
            self.latest[(unit, point)] = value
            self.written_at = time.perf_counter()
            if old is None or abs(value - old) > SETTLED_W:  # settling: small trims allowed
                self.changed_at = time.perf_counter()
            if self.on_record is not None:
                self.on_record((unit, point), value)

    def total(self) -> float:
        return sum(self.latest.values())


class _Tap:
    def __init__(self, unit: int, model: PlantCabinet, log: WriteLog) -> None:
        self.unit, self.inner, self._log = unit, model, log

    def values(self, wall: float) -> Mapping[str, float]:
        return self.inner.values(wall)

    def on_write(self, point: str, value: float, wall: float) -> None:
        self.inner.on_write(point, value, wall)
        self._log.record(self.unit, point, value)


async def until(cond: Callable[[], bool], within_s: float) -> bool:
    deadline = time.perf_counter() + within_s
    while time.perf_counter() < deadline:
        if cond():
            return True
        await asyncio.sleep(0.001)
    return False


async def bare_round_trip(
    port: int, meter_unit: int, watts: int, rounds: int, cab_unit: int
) -> list[float]:
    """A read of the grid meter's power (HR 19026) and a write of a cabinet's setpoint (HR
    10), as one step needs, on a twin of the simulator."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=1.0, retries=0)
    await client.connect()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        rr = await client.read_holding_registers(19026, count=2, device_id=meter_unit)
        wr = await client.write_registers(10, [watts >> 16, watts & 0xFFFF], device_id=cab_unit)
        times.append(time.perf_counter() - t0)
        assert not rr.isError(), rr
        assert not wr.isError(), wr
    client.close()
    return times


def park_trucks(plant: Plant, now: float) -> None:
    """A truck that wants all it can get on every free CCS bay, staying all day."""
    for i, bay in enumerate(plant.free_bays("CCS")):
        spec = TruckSpec(
            f"bench-{i}",
            SessionKind.BREAK,
            "CCS",
            now,
            now + 86_400.0,
            600_000.0,
            0.1,
            500_000.0,
            400_000.0,
        )
        plant.arrive(spec, bay)


async def trials(daemon: Daemon, n: int) -> tuple[list[float], list[float], int]:
    await until(lambda: daemon.cycle is not None, 30.0)  # simulators served, first cycle run
    host = daemon.sims
    assert host is not None
    assert host.live is not None
    plant, server = host.live.plant, host.servers["sim-lan"]
    park_trucks(plant, time.time())
    cabs = [server.units[u] for u in CABINET_UNITS]
    meter_unit = next(d.unit or 0 for d in daemon.config.devices if d.id == "grid-meter")
    log = WriteLog(cabs)  # type: ignore[arg-type]
    margin = daemon.config.control.margin_kw * 1e3

    # The step is the grid meter's own: its reading jumps the moment it is set (the plant
    # itself moves only once a second, which would add up to a second of simulator lag).
    step = [0.0]
    server.units[meter_unit].model = MeterModel(  # type: ignore[attr-defined]
        lambda wall: plant.node_w("grid") + step[0]
    )

    def budget() -> float:  # what the grid leaves the chargers now
        return LIMIT_W - plant.exogenous_w() - step[0] - margin

    reactions: list[float] = []
    misses, phase, period = 0, random.Random(1), daemon.config.control.period_s
    for _ in range(n):
        # Settled near the limit: setpoints fill the budget and nothing moved for 1.5 s.
        if not await until(
            lambda: log.total() > budget() - 20_000 and time.perf_counter() - log.changed_at > 1.5,
            30.0,
        ):
            misses += 1
            print(f"trial missed: not settled in 30 s (setpoints {log.total() / 1e3:.0f} kW)")
            continue
        # The step: the budget falls to half of what the bays hold now.
        await asyncio.sleep(phase.uniform(0.0, period))  # any phase of the control cycle
        target = log.total() / 2
        step[0] = budget() - target  # the meter reads it from its next poll on
        t0 = time.perf_counter()

        def done(t: float = target) -> bool:
            return log.total() <= t + 2_000

        if await until(done, 10.0):
            reactions.append(log.written_at - t0)
        else:
            misses += 1
            print(f"trial missed: setpoints {log.total() / 1e3:.0f} kW, not down to budget in 10 s")
        step[0] = 0.0
    return reactions, await twin_round_trips(server.units[meter_unit], cabs[0]), misses


async def twin_round_trips(meter: ServedUnit, cab: ServedUnit) -> list[float]:
    """The bare baseline against a twin of the site's simulator (the same server class and
    profiles, in this process): a second client on the daemon's own server interleaves
    with the daemon's requests, which is not what a bare round trip means."""
    twin = SimModbusServer(
        [
            SimUnit(meter.unit, meter.profile, StaticModel({"power_w": 500_000.0})),  # type: ignore[attr-defined]
            SimUnit(cab.unit, cab.profile, StaticModel({})),  # type: ignore[attr-defined]
        ],
        SystemClock(),
    )
    port = await twin.start()
    try:
        return await bare_round_trip(port, meter.unit, 100_000, 500, cab.unit)  # type: ignore[attr-defined]
    finally:
        await twin.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(n: int, meter_poll_s: float | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = load_site(site_file(Path(tmp), meter_poll_s))
        daemon = Daemon(config, socket_path=Path(tmp) / "edge.sock")
        runner = asyncio.create_task(daemon.run())
        try:
            reactions, rtt, misses = await trials(daemon, n)
            lock = daemon.fleet.phase_lock
            stages = [",".join(m.id for m in s) for s in lock.stages] if lock else ["none"]
        finally:
            daemon.request_stop()
            await asyncio.wait_for(runner, timeout=20)
    period = config.control.period_s
    poll = meter_poll_s or 1.0
    rt = statistics.median(rtt)
    print(
        f"control period {period * 1000:.0f} ms; grid meter polled every {poll * 1000:.0f} ms;"
        f" bare read+write round trip p50 {rt * 1e3:.2f} ms p99 {pct(rtt, 0.99) * 1e3:.2f} ms;"
        f" load average {os.getloadavg()[0]:.2f}"
    )
    print(f"reads in each burst (edge/drivers/phase_lock.py): {' -> '.join(stages)}")
    if not reactions:
        print(f"no reaction measured ({misses} trials missed)")
        return
    p50, p99 = statistics.median(reactions), pct(reactions, 0.99)
    print(
        f"reaction step -> every decrease written ({len(reactions)} trials, {misses} missed):"
        f" p50 {p50 * 1e3:.0f} ms  p99 {p99 * 1e3:.0f} ms  max {max(reactions) * 1e3:.0f} ms"
    )
    print(
        f"within one period: p50 {'yes' if p50 <= period else 'no'},"
        f" p99 {'yes' if p99 <= period else 'no'}"
    )
    print(
        f"p99 / period {p99 / period:.2f}; overhead beyond one period (negative: none)"
        f" {(p99 - period) / rt:+.1f} round trips (p50 {(p50 - period) / rt:+.1f})"
    )
    # The step can fall just after a meter poll: waiting for the next one is the floor.
    print(
        f"overhead beyond one meter poll: p99 {(p99 - poll) / rt:+.1f} round trips"
        f" ({(p99 - poll) * 1e3:+.1f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument(
        "--meter-poll", type=float, default=0.1, help="grid meter poll_s (0: its profile's)"
    )
    args = parser.parse_args()
    asyncio.run(run(args.trials, args.meter_poll or None))


if __name__ == "__main__":
    main()
