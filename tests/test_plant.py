"""The simulated plant's physics: energy balance, trucks never above what limits them, the
taper, chargers that ramp, lag or ignore their setpoints."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.sessions import BayState, SessionKind
from edge.sim.plant import DOWN_SHARE, FaultMode, Plant, Weather
from edge.sim.trucks import (
    CCS_MAX_W,
    TAIL,
    TruckSpec,
    acceptance_w,
    day_arrivals,
    local_midnight,
)
from edge.siteconf.loader import load_site
from edge.siteconf.model import SiteConfig

SITE = load_site("config/antwerp-bruges.toml")
NOON = 1_781_258_400.0  # 2026-06-12 10:00 UTC: noon in Brussels (summer time)


def truck(
    id: str = "T1", soc: float = 0.2, wanted_wh: float = 300_000.0, leave: float = 1e12
) -> TruckSpec:
    return TruckSpec(
        id, SessionKind.BREAK, "CCS", NOON, leave, 540_000.0, soc, wanted_wh, CCS_MAX_W
    )


def plant(site: SiteConfig = SITE, weather: Weather | None = None) -> Plant:
    return Plant(
        site.limits, site.chargers, site.bays, site.timezone, NOON, weather or Weather(wind_kw=900)
    )


def test_grid_is_base_plus_charging_minus_solar_minus_wind_at_every_step_and_in_total() -> None:
    p = plant()
    bays = list(p.bays)[:8]
    for i, bay in enumerate(bays):
        p.arrive(truck(f"T{i}"), bay)
        p.write(bay, 50_000.0 * (i + 1))
    for k in range(600):
        if k == 200:
            p.spike(300_000.0, 60.0)
        p.step(1.0)
        expected = p.base_w + p.charging_w() - p.solar_w - p.wind_w
        assert p.grid_w() == pytest.approx(expected, abs=1e-6)
        feeders = sum(p.node_w(n.id) for n in SITE.limits if n.parent is not None)
        assert feeders - p.solar_w - p.wind_w == pytest.approx(p.grid_w(), abs=1e-6)
    t = p.totals
    net = t.grid_import_wh - t.grid_export_wh
    assert net == pytest.approx(t.base_wh + t.charging_wh - t.solar_wh - t.wind_wh, abs=1e-6)
    delivered = sum(s.truck.delivered_wh for s in p.bays.values() if s.truck is not None)
    assert delivered == pytest.approx(t.charging_wh, abs=1e-6)
    assert t.charging_wh > 50_000  # the trucks did charge
    assert t.solar_wh > 0
    assert t.wind_wh > 0


def test_acceptance_is_flat_to_the_knee_then_tapers_to_the_tail() -> None:
    spec = truck()
    assert acceptance_w(spec, 0.1) == acceptance_w(spec, spec.knee) == CCS_MAX_W
    tapering = [acceptance_w(spec, s / 100) for s in range(76, 100)]
    assert all(a > b for a, b in itertools.pairwise(tapering))
    assert acceptance_w(spec, 0.999) == pytest.approx(CCS_MAX_W * TAIL)
    assert acceptance_w(spec, 1.0) == 0.0


def test_a_truck_charged_flat_out_slows_down_near_full_and_stops_at_what_it_wanted() -> None:
    p = plant()
    bay = next(iter(p.bays))
    p.arrive(truck(soc=0.5, wanted_wh=0.45 * 540_000.0), bay)
    p.write(bay, CCS_MAX_W)
    draws = []
    for _ in range(3_600):
        p.step(1.0)
        draws.append(p.bays[bay].draw_w)
    assert max(draws) == CCS_MAX_W
    t = p.bays[bay].truck
    assert t is not None
    assert t.full
    assert t.delivered_wh == pytest.approx(0.45 * 540_000.0, abs=600)
    assert p.bays[bay].state() is BayState.SUSPENDED_EV
    assert draws[-1] == 0.0
    late = [d for d in draws if 0 < d < CCS_MAX_W]
    assert late
    assert min(late) < CCS_MAX_W * 0.4


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.0, 500_000.0), min_size=5, max_size=60))
def test_a_truck_never_draws_above_the_charger_output_acceptance_or_connector(
    setpoints: list[float],
) -> None:
    p = plant()
    bay = next(iter(p.bays))
    sim = p.bays[bay]
    p.arrive(truck(soc=0.6), bay)
    for sp in setpoints:
        p.write(bay, sp)
        t = sim.truck
        assert t is not None
        accepts = t.accepts_w()
        p.step(1.0)
        assert sim.draw_w <= min(sim.output_w, accepts, sim.max_w) + 1e-6
        assert sim.output_w <= sim.max_w + 1e-6


def test_a_charger_is_down_to_its_setpoint_within_its_ramp_down_time() -> None:
    p = plant()
    bay = next(iter(p.bays))
    sim = p.bays[bay]
    p.arrive(truck(), bay)
    p.write(bay, CCS_MAX_W)
    for _ in range(20):
        p.step(1.0)
    assert sim.draw_w == CCS_MAX_W
    p.write(bay, 0.0)
    p.step(1.0)
    assert 0 < sim.draw_w < CCS_MAX_W  # ramping down: above its setpoint for a moment
    steps = int(sim.charger.ramp_down_s * DOWN_SHARE)
    for _ in range(steps):
        p.step(1.0)
    assert sim.draw_w == 0.0


def test_two_bays_of_a_cabinet_never_draw_more_than_the_cabinet() -> None:
    p = plant()
    a, b = (x for x in p.bays if p.bays[x].charger.id == "ch01")
    for i, bay in enumerate((a, b)):
        p.arrive(truck(f"T{i}"), bay)
        p.write(bay, CCS_MAX_W)
    for _ in range(30):
        p.step(1.0)
        assert p.bays[a].draw_w + p.bays[b].draw_w <= CCS_MAX_W + 1e-6


def test_a_charger_that_ignores_keeps_its_limit_and_one_that_lags_follows_late() -> None:
    p = plant()
    ign, lag = next(iter(p.bays)), next(b for b in p.bays if p.bays[b].charger.id == "ch02")
    p.faults["ch01"] = (FaultMode.IGNORE, 0.0)
    p.faults["ch02"] = (FaultMode.LAG, 5.0)
    for i, bay in enumerate((ign, lag)):
        p.arrive(truck(f"T{i}"), bay)
        p.write(bay, 100_000.0)
    for _ in range(4):
        p.step(1.0)
    assert p.bays[ign].draw_w == 0.0
    assert p.bays[lag].draw_w == 0.0
    for _ in range(4):
        p.step(1.0)
    assert p.bays[ign].draw_w == 0.0
    assert p.bays[lag].draw_w == 100_000.0
    assert p.bays[ign].setpoint_w == 100_000.0  # written, not applied


def test_the_day_is_the_same_for_the_same_seed_and_in_the_site_time_zone() -> None:
    a = day_arrivals(3, NOON, SITE.timezone)
    assert a == day_arrivals(3, NOON, SITE.timezone)
    assert a != day_arrivals(4, NOON, SITE.timezone)
    midnight = local_midnight(NOON, SITE.timezone)
    assert midnight == NOON - 12 * 3600  # Brussels midnight in summer time (UTC+2)
    lunch = [
        t for t in a if t.kind is SessionKind.BREAK and 11.5 <= (t.arrive - midnight) / 3600 <= 13.5
    ]
    assert len(lunch) >= 34  # the lunchtime rush, in local hours
    assert all(t.leave - t.arrive == 45 * 60 for t in a if t.kind is SessionKind.BREAK)
    nights = [t for t in a if t.kind is SessionKind.OVERNIGHT]
    assert nights
    assert all(29 <= (t.leave - midnight) / 3600 <= 31 for t in nights)
