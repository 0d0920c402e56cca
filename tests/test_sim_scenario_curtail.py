"""Export curtailment in the scenario run (`docs/scenarios.md`, "Export limit").

Expectations come from the physics and the decision's documented model, not from a run:
the energy balance holds with curtailment (grid + solar + wind - curtailed = base +
charging); curtailed energy is what sun and wind offered less what was used; export is
above `export_kw` only within the reaction window (one control period after a change the
controller could not see); curtailment is at least what the limit forces and at most what
keeps export a hysteresis band and one rounding step below the target; and a controller
that goes quiet leaves the inverters at the safe level by their own reversion timer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.power.export import Curtailment, ExportInputs, Inverter, curtail
from edge.readings import Grade
from edge.sim.inverter import InverterSim
from edge.sim.plant import Plant, Weather
from edge.sim.report import build
from edge.sim.scenario import load_scenario
from edge.sim.scenario_keys import ScenarioError
from edge.siteconf.loader import load_site
from tests.test_sim_scenarios import FLOAT_WH, REPO, check_invariants, play, window

PCT_STEP = 1.0  # the decision's default resolution: 1 % of the rating


def test_inverter_follows_its_limit_and_reverts_when_not_refreshed() -> None:
    inv = InverterSim("pv", 1_000_000.0)
    assert inv.output_w(900_000.0, 0.0) == 900_000.0  # never limited: all that is offered
    inv.write(40.0, 30.0, 70.0, now=100.0)
    assert inv.output_w(900_000.0, 130.0) == pytest.approx(400_000.0)  # within the timer
    assert inv.output_w(300_000.0, 130.0) == 300_000.0  # below the limit: what is offered
    assert inv.output_w(900_000.0, 130.5) == pytest.approx(700_000.0)  # timer out: revert
    assert inv.reverted == 1
    assert inv.output_w(900_000.0, 500.0) == pytest.approx(700_000.0)  # stays until a write
    inv.write(100.0, 30.0, 70.0, now=500.0)  # released: 100 %, still with its timer
    assert inv.output_w(900_000.0, 510.0) == 900_000.0


def test_plant_feeds_in_what_its_inverters_allow_and_counts_the_rest() -> None:
    tz = ZoneInfo("Europe/Brussels")
    noon = datetime(2026, 6, 14, 13, 0, tzinfo=tz).timestamp()
    weather = Weather(base_kw=100.0, peak_kw=100.0, pv_kw=1000.0, wind_kw=0.0)
    site = load_site(REPO / "config" / "antwerp-bruges.toml")
    plant = Plant(site.limits, site.chargers, site.bays, site.timezone, noon, weather)
    plant.inverters["pv"].write(10.0, 0.0, 100.0, noon)
    for _ in range(60):
        plant.step(1.0)
        assert plant.solar_w <= 100_000.0 + 1e-6
        assert plant.curtailed_w() == pytest.approx(plant.offered_solar_w - plant.solar_w)
    t = plant.totals
    assert t.curtailed_wh > 0
    assert t.solar_wh - t.curtailed_wh == pytest.approx(60 * 100_000.0 / 3600, rel=1e-9)


def test_one_share_of_unequal_inverters_gives_the_generation_wanted() -> None:
    # 2.5 MW of PV offering 2.3 MW and a 2 MW turbine offering 0.2 MW: the decision writes
    # one share of every rating, and that share must take off what export is over (not
    # the same amount off the two ratings' total, which cuts the PV far deeper).
    limit, margin, hysteresis = 1.5e6, 70e3, 30e3
    target, step_w = limit - margin, PCT_STEP / 100 * 4.5e6
    band = max(hysteresis, step_w)

    def fed(pct: float | None) -> float:  # what the two give under a share of their rating
        share = 1.0 if pct is None else pct / 100
        return min(2.3e6, share * 2.5e6) + min(0.2e6, share * 2.0e6)

    def decide(export: float, previous: Curtailment) -> Curtailment:
        pv = Inverter("pv", 2.5e6, fed(previous.pct) - 0.2e6)
        wind = Inverter("wind", 2.0e6, 0.2e6)
        inputs = ExportInputs(
            limit, margin, Grade.FRESH, export, (pv, wind), 0.0, previous, hysteresis
        )
        return curtail(inputs)

    over = 1.0e6  # export above the target, uncurtailed
    first = decide(target + over, Curtailment())
    assert target - step_w <= target + over - (2.5e6 - fed(first.pct)) <= target
    # A megawatt of load comes: export falls a megawatt below the target; the PV at its
    # limit gives more when the share rises, the turbine (below its limit) does not.
    low = target - 1.0e6
    raised = decide(low, first)
    export_after = low + fed(raised.pct) - fed(first.pct)
    assert target - band - step_w <= export_after <= target


def test_sunny_sunday_curtails_only_what_the_site_cannot_use() -> None:
    sc = window("sunny-curtail", 1.0, 2.0)  # 11:00-13:00: the sun high, the trucks come
    run = sc.runner().begin()
    p, ex = run.plant, run.export
    assert ex.limit_w == 1.5e6  # the site file's limits[].export_kw
    target = ex.limit_w - ex.margin_w
    step_w = PCT_STEP / 100 * sum(ex.ratings.values())
    band = max(ex.hysteresis_w, step_w)
    need_wh = most_wh = window_wh = 0.0
    before: tuple[float, float, float] | None = None
    while run.clock.wall() < run.end - 1e-9:
        run.advance()
        h = sc.period_s / 3600
        offered = p.offered_solar_w + p.offered_wind_w
        now = (offered, p.charging_w(), p.base_w)
        # What the step changed that the controller had not seen: its reaction window.
        changed = (
            0.0 if before is None else sum(abs(a - b) for a, b in zip(now, before, strict=True))
        )
        before = now
        surplus = offered - p.base_w - p.charging_w()  # what would go out uncurtailed
        need, most = max(0.0, surplus - ex.limit_w), max(0.0, surplus - (target - band - step_w))
        assert need - changed - 1.0 <= p.curtailed_w() <= most + changed + 1.0
        need_wh, most_wh, window_wh = (
            need_wh + need * h,
            most_wh + most * h,
            window_wh + changed * h,
        )
    r = run.result()
    check_invariants(sc, r, run)
    # Curtailed energy is what sun and wind offered less what the site used or exported.
    used = r.base_wh + r.charging_wh + r.grid_export_wh - r.grid_import_wh
    assert r.curtailed_wh == pytest.approx(r.solar_wh + r.wind_wh - used, abs=FLOAT_WH)
    assert need_wh - window_wh <= r.curtailed_wh <= most_wh + window_wh
    assert need_wh > 0  # the scenario needs curtailment: export would exceed the limit
    e = r.export
    assert e is not None
    assert e.seconds_unexplained == 0.0  # above the limit only within the reaction window
    assert all(i.reverted == 0 for i in p.inverters.values())  # refreshed within the timer
    assert sum(t.bay is not None for t in r.trucks) == 4  # 11:00-12:30 arrivals: all on a bay
    site = build(sc, r, {}, {"computed": False, "reason": "test"})["site"]
    assert site["curtailment_kwh"] == pytest.approx(r.curtailed_wh / 1e3, abs=1e-3)
    assert site["export_limit_kw"] == 1500.0
    # The controller goes quiet: each inverter's own timer takes it to the safe level,
    # where export stays within the limit with no load and no charging at all.
    for _ in range(int(ex.revert_s) + 2):
        p.step(1.0)
    assert all(i.pct == ex.safe_pct for i in p.inverters.values())
    assert p.solar_w + p.wind_w <= ex.limit_w


def test_export_kw_key_sets_the_site_files_limit(tmp_path: Path) -> None:
    text = (REPO / "scenarios" / "sunny-curtail.toml").read_text()
    text = text.replace('site = "../config', f'site = "{REPO.as_posix()}/config')
    path = tmp_path / "s.toml"
    path.write_text(text.replace("duration_h = 6", "duration_h = 0.05\nexport_kw = 900"))
    sc = load_scenario(path)
    assert sc.site.root_limit().export_kw == 900.0
    r, _ = play(sc)
    assert r.export_limit_w == 900e3
    path.write_text(text.replace("duration_h = 6", 'export_kw = "lots"'))
    with pytest.raises(ScenarioError, match=r"scenario\.export_kw"):
        load_scenario(path)
