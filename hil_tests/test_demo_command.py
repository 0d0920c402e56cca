"""`edge demo` brings a simulated hub up, shows it, and stops everything it started."""

from __future__ import annotations

import subprocess
import sys

import pytest

from edge.siteconf import load_site
from hil_tests.conftest import REPO

pytestmark = pytest.mark.hil


def test_demo_runs_shows_the_hub_and_cleans_up() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "edge", "demo", "--duration", "3"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert "Demo hub (simulated)" in out.stdout
    assert "Grid      import" in out.stdout
    devices = len(load_site(REPO / "config" / "demo.toml").devices)
    assert f"Devices   {devices}/{devices} ok" in out.stdout
    assert "Sharing   mode " in out.stdout  # the power sharing, per node and per bay
    assert "  grid " in out.stdout
    assert "budget (limit 600.0 kW)" in out.stdout
    assert "BAY  STATE" in out.stdout
    assert "\nB04 " in out.stdout
    assert "daemon stopped (exit 0)" in out.stdout
