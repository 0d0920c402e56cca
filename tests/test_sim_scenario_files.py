"""Scenario files, `edge sim generate` and `edge sim run`: errors name file, key and line;
generated days are reproducible; the report follows its schema; a run is deterministic."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jsonschema
import pytest

from edge.cli.main import main
from edge.sessions import Estimate, SessionKind, Source
from edge.sim.report import summary
from edge.sim.scenario import load_scenario
from edge.sim.scenario_keys import ScenarioError
from edge.sim.scenario_run import full_report, run_day

REPO = Path(__file__).resolve().parents[1]
SITE = (REPO / "config" / "antwerp-bruges.toml").as_posix()
SCHEMA = json.loads((REPO / "edge" / "sim" / "report.schema.json").read_text())

SHORT = f"""[scenario]
name = "short"
site = "{SITE}"
start = "2026-06-12T12:00"
duration_h = 0.25
seed = 3

[[arrivals]]
id = "a"
at = "12:00"
connector = "CCS"
inlet_side = "right"
energy_kwh = 60
soc = 0.3

[[arrivals]]
id = "b"
at = "12:01"
booked = true
slot = "12:00"
count = 3
every_s = 30
energy_kwh = 80

[[faults]]
at = "12:05"
kind = "charger-ignore"
charger = "ch01"
duration_min = 3
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_short_scenario_loads(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, SHORT))
    assert [t.id for t in sc.trucks] == ["a", "b-1", "b-2", "b-3"]
    assert [t.booked for t in sc.trucks] == [False, True, True, True]
    assert sc.trucks[2].arrive - sc.trucks[1].arrive == 30.0
    assert sc.trucks[0].leave - sc.trucks[0].arrive == 45 * 60.0  # a break by default
    assert sc.knowledge == "site"
    assert len(sc.events) == 1


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('connector = "CCS"', 'connector = "CHAdeMO"', "arrivals[0].connector"),
        ("soc = 0.3", "soc = 1.3", "arrivals[0].soc"),
        ('at = "12:01"', 'at = "25:99"', "arrivals[1].at"),
        ('charger = "ch01"', 'charger = "ch99"', "faults[0].charger"),
        ("duration_min = 3", "duration_mins = 3", "faults[0].duration_mins"),
        ('kind = "charger-ignore"', 'kind = "meteor"', "faults[0].kind"),
        ("seed = 3", 'seed = "three"', "scenario.seed"),
        ("duration_h = 0.25", "export_kw = -5", "scenario.export_kw"),
    ],
)
def test_errors_name_file_key_and_line(tmp_path: Path, old: str, new: str, where: str) -> None:
    text = SHORT.replace(old, new, 1)
    line = text.splitlines().index(new) + 1
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, text))
    assert f"s.toml:{line}: {where}:" in str(err.value)


def test_missing_site_and_unknown_table(tmp_path: Path) -> None:
    text = SHORT.replace(f'site = "{SITE}"', 'site = "nowhere.toml"') + "\n[extra]\n"
    with pytest.raises(ScenarioError) as err:
        load_scenario(write(tmp_path, text))
    assert "scenario.site: site file nowhere.toml" in str(err.value)


def test_generate_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sim", "generate", "--seed", "7", "--rates", "lunch=20,booked_share=0.3"]
    args += ["--site", SITE]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == first
    a = load_scenario(write(tmp_path, first, "a.toml"))
    b = load_scenario(write(tmp_path, first, "b.toml"))
    assert a.trucks == b.trucks
    assert any(t.booked for t in a.trucks)
    other = load_scenario(write(tmp_path, first, "c.toml"), seed=8)
    assert other.trucks != a.trucks
    assert main(["sim", "generate", "--seed", "1", "--rates", "lunch=x"]) == 2
    assert main(["sim", "generate", "--seed", "1", "--rates", "rain=1"]) == 2


def test_a_share_of_trucks_reports_its_needs_and_the_day_stays_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    days = []
    for rates in ("lunch=40,booked_share=0.3", "lunch=40,booked_share=0.3,reports_needs_share=0.5"):
        assert main(["sim", "generate", "--seed", "7", "--rates", rates, "--site", SITE]) == 0
        days.append(load_scenario(write(tmp_path, capsys.readouterr().out, "g.toml")))
    without, half = (d.trucks for d in days)
    assert not any(t.reports_needs for t in without)
    assert 0.3 < sum(t.reports_needs for t in half) / len(half) < 0.7
    same = [dataclasses.replace(t, reports_needs=False) for t in half]
    assert same == list(without)  # arrivals, bookings and inlets as without the share


def test_a_truck_that_reports_its_needs_is_planned_by_them(tmp_path: Path) -> None:
    text = SHORT.replace('inlet_side = "right"', 'inlet_side = "right"\nreports_needs = true')
    sc = load_scenario(write(tmp_path, text))
    a = next(t for t in sc.trucks if t.id == "a")
    assert a.reports_needs
    run = sc.runner().begin()
    for _ in range(120):  # bounded: until truck a is on a bay
        on = [
            (bay, b.truck)
            for bay, b in run.plant.bays.items()
            if b.truck and b.truck.spec.id == "a"
        ]
        if on:
            break
        run.advance()
    assert on, "truck a never reached a bay"
    bay, truck = on[0]
    s = run._session(bay, truck)
    assert (s.energy_wanted_wh, s.departure) == (
        Estimate(a.wanted_wh, Source.VEHICLE),
        Estimate(a.leave, Source.VEHICLE),
    )
    assert s.kind is SessionKind.BREAK  # what it reported, not what it is


def test_same_seed_same_report(tmp_path: Path) -> None:
    sc = load_scenario(write(tmp_path, SHORT))
    reports = []
    for _ in range(2):
        rep = full_report(sc, run_day(sc), baselines=False, with_bounds=False)
        del rep["run"]
        reports.append(rep)
    assert reports[0] == reports[1]


def test_run_writes_report_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("scipy")
    pytest.importorskip("matplotlib")
    path = write(tmp_path, SHORT)
    report, png = tmp_path / "r.json", tmp_path / "day.png"
    args = ["sim", "run", str(path), "--report", str(report), "--plot", str(png)]
    code = main([*args, "--knowledge", "exact"])
    assert code == 0
    out = capsys.readouterr().out
    assert "vs edf:" in out
    assert "vs bound:" in out
    rep = json.loads(report.read_text())
    jsonschema.validate(rep, SCHEMA)
    assert rep["scenario"]["knowledge"] == "exact"
    assert set(rep["baselines"]) == {"fcfs", "equal", "edf"}
    assert rep["bounds"]["computed"] is True
    assert rep["uplink"]["lost"] == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_scenario_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, SHORT.replace("soc = 0.3", "soc = -1"))
    assert main(["sim", "run", str(path), "--no-baselines", "--no-bounds"]) == 1
    assert "arrivals[0].soc" in capsys.readouterr().err


def test_shipped_scenarios_load() -> None:
    for path in sorted((REPO / "scenarios").glob("*.toml")):
        sc = load_scenario(path)
        assert sc.trucks, path


def test_without_scipy_the_report_says_bounds_not_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "scipy" else real(name, *a)
    )
    sc = load_scenario(write(tmp_path, SHORT))
    rep = full_report(sc, run_day(sc), baselines=False)
    assert rep["bounds"]["computed"] is False
    assert "scipy" in rep["bounds"]["reason"]
    assert "bound" not in rep["ratios"]
    assert "bounds not computed: scipy" in summary(rep)
