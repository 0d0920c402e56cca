"""systemd/edge.service passes `systemd-analyze verify`, and says what the issue asks."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "edge.service"


def unit_values() -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_unit_declares_notify_watchdog_restart_and_hardening() -> None:
    v = unit_values()
    assert v["Type"] == ["notify"]
    assert int(v["WatchdogSec"][0]) >= 5
    assert v["Restart"] == ["on-failure"]
    assert v["User"] == ["edge"]
    assert "dialout" in v["SupplementaryGroups"][0]
    for key in ("StateDirectory", "RuntimeDirectory", "ConfigurationDirectory"):
        assert v[key] == ["edge"]
    for key in ("NoNewPrivileges", "PrivateTmp", "ProtectHome"):
        assert v[key] == ["yes"]
    assert v["ProtectSystem"] == ["strict"]
    assert v["ExecStart"][0].endswith("edge run --config /etc/edge/site.toml")
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNIT)
    assert set(parser.sections()) == {"Unit", "Service", "Install"}


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    # The venv path of a real install does not exist here; point ExecStart at a binary that does.
    unit = tmp_path / "edge.service"
    unit.write_text(UNIT.read_text().replace("/opt/edge/venv/bin/edge", "/bin/true"))
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    # A lone unknown key still exits 0, so any complaint about this unit fails the test.
    complaints = [line for line in (out.stdout + out.stderr).splitlines() if "edge.service" in line]
    assert out.returncode == 0, out.stderr
    assert complaints == [], "\n".join(complaints)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_verify_would_catch_a_typo(tmp_path: Path) -> None:
    unit = tmp_path / "edge.service"
    unit.write_text(
        UNIT.read_text()
        .replace("/opt/edge/venv/bin/edge", "/bin/true")
        .replace("WatchdogSec", "WatchdogSecs")
    )
    out = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert "Unknown key" in out.stderr
