"""`edge sim run --speed realtime`: the day takes as long on the wall as it does simulated,
and reports what `--speed max` reports for the same seed (only the pace differs).

The wall-time check is a lower bound that sleeping guarantees (a loaded machine only makes
the run longer); no upper bound is asserted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from edge.cli.main import main

REPO = Path(__file__).resolve().parents[1]
SITE = (REPO / "config" / "antwerp-bruges.toml").as_posix()
DURATION_S = 3.6  # duration_h = 0.001
# A truck on a bay from the first period, so the report has something that could differ.
SCENARIO = f"""[scenario]
name = "realtime"
site = "{SITE}"
start = "2026-06-12T12:00"
duration_h = 0.001
period_s = 1
seed = 5

[[arrivals]]
id = "a"
at = "12:00"
connector = "CCS"
energy_kwh = 60
soc = 0.3
"""


def run(tmp_path: Path, speed: str) -> tuple[dict[str, Any], float]:
    """(the report without its `run` timings, wall seconds) of one `edge sim run`."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    report = tmp_path / f"{speed}.json"
    args = ["sim", "run", str(scenario), "--speed", speed, "--report", str(report)]
    t0 = time.monotonic()
    assert main([*args, "--no-bounds"]) == 0
    wall = time.monotonic() - t0
    rep: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    del rep["run"]
    return rep, wall


def test_realtime_keeps_pace_with_the_simulated_day_and_reports_as_max(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast, _ = run(tmp_path, "max")
    slow, wall_s = run(tmp_path, "realtime")
    capsys.readouterr()
    assert fast["scenario"]["duration_s"] == pytest.approx(DURATION_S)
    assert fast["trucks"][0]["delivered_kwh"] > 0, "the truck charged: a report worth comparing"
    # The whole day, not a period less: the first period is waited for too.
    assert wall_s >= DURATION_S - 0.3
    assert slow == fast
