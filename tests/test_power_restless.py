"""Steady at the limit: with the meters and the cabinets polled once a period, the bays at
a limit must keep their setpoints. Pairing readings by time (`BayMeasurement.drawn_at`)
counts a bay read after the meter at its reading before it, and a bay read before the meter
at its reading: whenever the plant moves between a cabinet's poll and a meter's (a truck
rising to the setpoint the last step wrote), the meter sees the rise the cabinet's reading
misses, the base load comes out high (the safe side), the bays are cut, then raised again.

Two remedies, both tested on the whole `ControlCycle` over the skewed plant of
`tests/test_power_skew.py` on a virtual clock: the cycle steps right after the grid meter's
fresh value (enough while the plant moves only when written to), and the drivers read the
cabinets right before the node meters (`edge/drivers/phase_lock.py`), which is what keeps a
plant that moves on its own time, and a feeder meter, steady."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from edge.clock import SimClock
from edge.control_cycle import ControlCycle, NullSink
from edge.drivers.phase_lock import PhaseLock
from edge.power_control import PowerController
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading
from edge.sdnotify import Notifier
from edge.siteconf.model import SiteConfig
from tests.test_power_skew import BASE_W, CONFIG, DT_S, LIMIT_W, SkewedPlant, four_trucks

CABINETS = {"cabinet-1": ("B01", "B02"), "cabinet-2": ("B03", "B04")}
FEEDER_W = 450_000.0  # feeder-main, below the grid's 600 kW less its base: the feeder binds


async def _no_safe_state() -> None:
    return None


async def _settle() -> None:
    for _ in range(40):  # let the cycle's and the lock's tasks run after a tick (bounded)
        await asyncio.sleep(0)


@dataclass
class Polled:
    """A device of the plant as the phase lock sees it: its reply comes back one plant step
    (20 ms) after the request, with the plant as it is then, so the order of the reads
    matters as on a real line."""

    id: str
    read: Callable[[float], None]
    clock: SimClock
    locked_period_s: float = 1.0

    async def read_locked(self) -> None:
        await self.clock.sleep(DT_S / 2)  # answered at the harness's next 20 ms step
        self.read(self.clock.monotonic())


@dataclass(frozen=True)
class Reads:
    """When, in each 1 s, each device is read. Free-running (`lock_at` None): each node
    meter at its phase in `meters` (every 1 s), the cabinets at `chargers`. Locked: the
    phase lock starts at `lock_at` and reads them (meters every `meter_poll_s`, the grid's
    in `grid_poll_s`, cabinets every 1 s). `plant_at`: the plant moves once a second, at
    that phase (None: in 20 ms steps)."""

    meters: Mapping[str, float]
    chargers: float = 0.0
    lock_at: float | None = None
    grid_poll_s: float = 1.0
    plant_at: float | None = None


def free(meter: float, chargers: float, plant_at: float | None = None) -> Reads:
    return Reads(dict.fromkeys(BASE_W, meter), chargers, plant_at=plant_at)


def locked(at: float, plant_at: float | None = None, grid_poll_s: float = 1.0) -> Reads:
    return Reads({}, lock_at=at, grid_poll_s=grid_poll_s, plant_at=plant_at)


def _lock(
    plant: SkewedPlant, image: ProcessImage, clock: SimClock, grid_poll_s: float
) -> PhaseLock:
    """The demo's lock, as `fleet.phase_lock` builds it: the cabinets, then the feeders'
    meters, then the grid's."""

    def meter(name: str) -> Callable[[float], None]:
        def read(now: float) -> None:
            plant.read_meters(now)
            image.put(name, "power_w", plant.meters[name])

        return read

    def cabinet(bays: tuple[str, ...]) -> Callable[[float], None]:
        return lambda now: plant.read_chargers(now, bays)

    cabinets = [Polled(c, cabinet(bays), clock) for c, bays in CABINETS.items()]
    feeders = [Polled(m, meter(m), clock) for m in ("plot-meter-main", "plot-meter-north")]
    grid = Polled("grid-meter", meter("grid-meter"), clock, grid_poll_s)
    return PhaseLock(cabinets, [feeders, [grid]], clock)


async def run_cycle(
    plant: SkewedPlant, reads: Reads, periods: int, config: SiteConfig = CONFIG
) -> list[tuple[float, ...]]:
    """The daemon's cycle over `plant`, its devices read as `reads` says; the setpoints at
    each period's end."""
    c = config.control
    clock, image = SimClock(), ProcessImage(c.stale_after_s, c.lost_after_s)
    power = PowerController(config, plant)
    cycle = ControlCycle(
        config, image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )
    steps = round(1.0 / DT_S)
    for meter, base in BASE_W.items():  # a first reading so the first step has one
        image.put(meter, "power_w", Reading(base, "W", Quality.OK, 0.0))
    plant.read_chargers(0.0)
    tasks = [asyncio.create_task(cycle.run())]
    out = []

    def at(phase: float | None) -> int | None:  # the 20 ms step of a phase
        return None if phase is None else round(phase * steps) % steps

    try:
        for k in range(periods):
            for i in range(steps):
                now = k + i * DT_S
                clock.advance(now - clock.monotonic())
                await _settle()
                if k == 0 and i == at(reads.lock_at):
                    lock = _lock(plant, image, clock, reads.grid_poll_s)
                    tasks.append(asyncio.create_task(lock.run()))
                    await _settle()
                if i == at(reads.chargers) and reads.lock_at is None:
                    plant.read_chargers(now)
                for meter, phase in reads.meters.items():
                    if i == at(phase):
                        plant.read_meters(now)
                        image.put(meter, "power_w", plant.meters[meter])
                        await _settle()
                if reads.plant_at is None:
                    plant.step(DT_S)
                elif i == at(reads.plant_at):
                    plant.step(1.0)
            out.append(tuple(t.setpoint_w for t in plant.trucks.values()))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return out


def changes(setpoints: list[tuple[float, ...]]) -> int:
    return sum(1 for a, b in itertools.pairwise(setpoints) if a != b)


def steady(
    plant: SkewedPlant, reads: Reads, config: SiteConfig = CONFIG
) -> list[tuple[float, ...]]:
    """90 periods; after 30 to settle, no setpoint may change in the last 60."""
    setpoints = asyncio.run(run_cycle(plant, reads, 90, config))[30:]
    assert changes(setpoints) == 0, (reads, setpoints[:4])
    return setpoints


def test_a_steady_site_at_the_limit_keeps_its_setpoints() -> None:
    """Four trucks wanting 400 kW each at a 600 kW grid limit, the meters read early in the
    period and the cabinets late (and the other way round), the trucks ramping from the
    moment a setpoint lands: stepping after the grid meter is enough, locked or not."""
    cases = [free(0.1, 0.9), free(0.3, 0.0), free(0.9, 0.1), locked(0.1), locked(0.7)]
    for reads in cases:
        for ramp_w_s in (100_000.0, 2_000_000.0):
            plant = four_trucks(ramp_w_s)
            setpoints = steady(plant, reads)
            limit = LIMIT_W["grid-meter"]
            assert plant.worst_import_w <= limit
            assert sum(setpoints[-1]) > 0.9 * (limit - BASE_W["grid-meter"] - 12_000.0)


def test_a_plant_that_moves_between_the_cabinet_poll_and_the_meter_poll_stays_steady() -> None:
    """The profiles' own rates (every meter and cabinet once a second) over a plant that
    moves once a second on its own time, as the simulator's does. Free-running with the
    plant moving between a cabinet's poll and the meter's (cabinets at 0.2, plant at 0.5,
    meters at 0.8), the meter saw each raise before the cabinet did and the bays swung
    between 122 and 132 kW every period (59 changes in 60). Locked, with the plant moving
    anywhere but inside the burst's own 60 ms (there the meter still sees a raise the
    cabinets' replies missed: counted on the safe side, it swings as before): steady,
    within the limit, and the bays share what it leaves them."""
    limit = LIMIT_W["grid-meter"]
    for lock_at, plant_at in ((0.8, 0.5), (0.2, 0.5), (0.5, 0.48), (0.94, 0.02)):
        for ramp_w_s in (100_000.0, 2_000_000.0):
            plant = four_trucks(ramp_w_s)
            setpoints = steady(plant, locked(lock_at, plant_at))
            assert plant.worst_import_w <= limit
            assert sum(setpoints[-1]) > 0.9 * (limit - BASE_W["grid-meter"] - 12_000.0)


def test_a_grid_meter_polled_faster_than_the_cabinets_stays_steady() -> None:
    """The grid meter every 0.1 s (a site wanting fast decreases), the cabinets and the
    feeders' meters every second, locked: each reading of the cabinets is paired with the
    grid meter's reading right after it."""
    for plant_at in (None, 0.5):
        plant = four_trucks(2_000_000.0)
        steady(plant, locked(0.3, plant_at, grid_poll_s=0.1))
        assert plant.worst_import_w <= LIMIT_W["grid-meter"]


def test_a_feeder_meter_pairs_with_its_own_node() -> None:
    """The main feeder binds (450 kW against its 40 kW base; the grid leaves 528 kW).
    Free-running with the feeder's meter at its own phase (grid meter at 0.1, feeder meter
    at 0.6, cabinets at 0.9), the feeder's meter saw the ramps its cabinets' readings had
    not, and the bays swung between 50 and 100 kW every period (59 changes in 60): the
    cycle follows only the grid meter. Locked, each feeder's meter is read right after the
    cabinets, like the grid's: steady, and the feeder within its limit."""
    limits = tuple(
        replace(n, import_kw=FEEDER_W / 1000.0) if n.id == "feeder-main" else n
        for n in CONFIG.limits
    )
    config = replace(CONFIG, limits=limits)
    for lock_at, plant_at in ((0.1, None), (0.6, None), (0.9, 0.3)):
        for ramp_w_s in (100_000.0, 2_000_000.0):
            plant = four_trucks(ramp_w_s)
            setpoints = steady(plant, locked(lock_at, plant_at), config)
            charging_worst = plant.worst_import_w - BASE_W["grid-meter"]
            assert charging_worst + BASE_W["plot-meter-main"] <= FEEDER_W
            assert sum(setpoints[-1]) > 0.9 * (FEEDER_W - BASE_W["plot-meter-main"] - 12_000.0)
