"""Steady at the limit: with the meters and the cabinets polled once a period at their own
phases, the bays at the site limit must keep their setpoints. Pairing readings by time
(`BayMeasurement.drawn_at`) counts a bay read after the meter at its reading before it, so
when the step ran at a fixed time and the meter was read early in the period, the meter
saw the bays part way up the raise the last step wrote, the base load came out high (the
safe side), the bays were trimmed, then raised again: a change every period (60 in 60).
The control cycle now steps right after the grid meter's fresh value. The whole
`ControlCycle` over the skewed plant of `tests/test_power_skew.py` on a virtual clock."""

from __future__ import annotations

import asyncio
import itertools

from edge.clock import SimClock
from edge.control_cycle import ControlCycle, NullSink
from edge.power_control import PowerController
from edge.process_image import ProcessImage
from edge.readings import Quality, Reading
from edge.sdnotify import Notifier
from tests.test_power_skew import BASE_W, CONFIG, DT_S, LIMIT_W, SkewedPlant, four_trucks


async def _no_safe_state() -> None:
    return None


async def _settle() -> None:
    for _ in range(10):  # let the cycle's tasks run after a put or a tick (bounded)
        await asyncio.sleep(0)


async def run_cycle(
    plant: SkewedPlant, meter_phase: float, charger_phase: float, periods: int
) -> list[tuple[float, ...]]:
    """The daemon's cycle over `plant`: meters put in the process image at `meter_phase`
    of each 1 s, cabinets read at `charger_phase`; the setpoints at each period's end."""
    c = CONFIG.control
    clock, image = SimClock(), ProcessImage(c.stale_after_s, c.lost_after_s)
    power = PowerController(CONFIG, plant)
    cycle = ControlCycle(
        CONFIG, image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )
    steps = round(1.0 / DT_S)
    for meter, base in BASE_W.items():  # a first reading so the first step has one
        image.put(meter, "power_w", Reading(base, "W", Quality.OK, 0.0))
    plant.read_chargers(0.0)
    task = asyncio.create_task(cycle.run())
    out = []
    try:
        for k in range(periods):
            for i in range(steps):
                now = k + i * DT_S
                clock.advance(now - clock.monotonic())
                await _settle()
                if i == round(charger_phase * steps) % steps:
                    plant.read_chargers(now)
                if i == round(meter_phase * steps) % steps:
                    plant.read_meters(now)
                    for meter, r in plant.meters.items():
                        image.put(meter, "power_w", r)
                    await _settle()
                plant.step(DT_S)
            out.append(tuple(t.setpoint_w for t in plant.trucks.values()))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return out


def changes(setpoints: list[tuple[float, ...]]) -> int:
    return sum(1 for a, b in itertools.pairwise(setpoints) if a != b)


def test_a_steady_site_at_the_limit_keeps_its_setpoints() -> None:
    """Four trucks wanting 400 kW each at a 600 kW grid limit, the meters read early in the
    period and the cabinets late (and the other way round): after 30 s to settle, no
    setpoint changes in 60 periods, and the bays share what the limit leaves them."""
    for meter_phase, charger_phase in ((0.1, 0.9), (0.3, 0.0), (0.9, 0.1)):
        for ramp_w_s in (100_000.0, 2_000_000.0):
            plant = four_trucks(ramp_w_s)
            setpoints = asyncio.run(run_cycle(plant, meter_phase, charger_phase, 90))[30:]
            assert changes(setpoints) == 0, (meter_phase, charger_phase, ramp_w_s, setpoints[:4])
            limit = LIMIT_W["grid-meter"]
            assert plant.worst_import_w <= limit
            assert sum(setpoints[-1]) > 0.9 * (limit - BASE_W["grid-meter"] - 12_000.0)
