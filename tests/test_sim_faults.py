"""Faults the day runner injects: meters graded as the process image grades them, grid
limits changed, the uplink down (records wait in the outbox store, none lost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.readings import Grade
from edge.sim.day_runner import DayRunner
from edge.sim.events import GridLimit, MeterFault, MeterMode, UplinkDown
from edge.sim.meter_faults import FROZEN_AFTER_S, MeterFaults
from edge.sim.plant import Weather
from edge.sim.trucks import day_arrivals, local_midnight
from edge.sim.uplink_sim import SimUplink
from edge.siteconf.loader import load_site
from edge.uplink.outbox_db import NewRow
from edge.uplink.policy import MsgClass

SITE = load_site("config/antwerp-bruges.toml")
DAY = 1_781_258_400.0
NOON = local_midnight(DAY, SITE.timezone) + 12 * 3600.0


def test_silent_meter_ages_fresh_stale_lost() -> None:
    m = MeterFaults(stale_after_s=3.0, lost_after_s=10.0)
    m.start(MeterFault(100.0, "grid", MeterMode.SILENT, 60.0), 1234.0)
    seen = {t: m.measure("grid", 9999.0, 100.0 + t) for t in (0.0, 3.0, 4.0, 10.0, 11.0)}
    assert [s.grade for s in seen.values()] == [
        Grade.FRESH,
        Grade.FRESH,
        Grade.STALE,
        Grade.STALE,
        Grade.LOST,
    ]
    assert all(s.power_w == 1234.0 for s in seen.values())  # the last good value is held
    back = m.measure("grid", 9999.0, 160.0)
    assert (back.power_w, back.grade) == (9999.0, Grade.FRESH)


def test_frozen_meter_passes_as_fresh_until_flagged() -> None:
    m = MeterFaults(stale_after_s=3.0)
    m.start(MeterFault(0.0, "grid", MeterMode.FROZEN, 600.0), 500.0)
    early = m.measure("grid", 800.0, FROZEN_AFTER_S - 1.0)
    assert (early.power_w, early.grade) == (500.0, Grade.FRESH)
    late = m.measure("grid", 800.0, FROZEN_AFTER_S)
    assert (late.power_w, late.grade) == (None, Grade.LOST)


def runner(**kw: object) -> DayRunner:
    trucks = day_arrivals(1, DAY, SITE.timezone)
    return DayRunner(
        SITE,
        trucks,
        NOON,
        1800.0,
        weather=Weather(pv_kw=0.0),
        seed=1,
        **kw,  # type: ignore[arg-type]
    )


def test_lower_grid_limit_is_kept_after_the_ramp_down() -> None:
    limit = GridLimit(NOON + 600.0, "grid", 2000.0, 600.0)
    run = runner(events=(limit,), sample_s=10.0).begin()
    while run.clock.wall() < run.end:
        run.advance()
    r = run.result()
    assert r.seconds_unexplained == 0.0
    slowest = max(c.ramp_down_s for c in SITE.chargers)
    s = r.series
    assert s is not None
    inside = [
        g
        for t, g in zip(s.t, s.grid_w, strict=True)
        if limit.at + slowest + 2.0 <= t < limit.at + limit.duration_s
    ]
    assert inside
    assert max(inside) <= 2000e3 + 1.0
    assert max(s.grid_w) > 2000e3  # the rush needed more before and after
    assert [n.import_kw for n in run.site.limits if n.id == "grid"] == [3500.0]  # restored


def test_uplink_down_keeps_every_record(tmp_path: Path) -> None:
    run = runner(events=(UplinkDown(NOON + 60.0, 900.0),), uplink=True, telemetry_s=5.0).begin()
    while run.clock.wall() < run.end:
        run.advance()
    u = run.result().uplink
    assert u is not None
    assert (u.lost, u.duplicated, u.waiting_at_end) == (0, 0, 0)
    assert u.delivered == u.produced
    assert u.max_waiting >= 900.0 / 5.0  # the outage's telemetry waited in the store
    assert u.down_s == pytest.approx(900.0)


def test_sim_uplink_counts_duplicates_and_losses(tmp_path: Path) -> None:
    up = SimUplink("s", tmp_path / "o.db")
    up.up = False
    for k in range(5):
        up.produce("events/session", {"k": k}, float(k))
    up.tick(1.0)
    rows = up.db.read(MsgClass.EVENT, 0, 10)
    up.db.delete([rows[0].id])  # a row gone before delivery: lost
    up.db.commit([NewRow(rows[1].stream, 1, MsgClass.EVENT, 0.0, rows[1].body)], durable=False)
    up.up = True
    up.tick(1.0)  # rows[1] arrives twice: one duplicate
    r = up.result()
    assert (r.produced, r.delivered, r.duplicated, r.lost, r.waiting_at_end) == (5, 4, 1, 1, 0)
