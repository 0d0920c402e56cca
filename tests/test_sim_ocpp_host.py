"""The demo's OCPP charge points as the simulator host builds them from the site file
(config/demo-ocpp.toml), and `edge demo --ocpp`'s passwords file. No sockets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edge.cli import demo
from edge.clock import SimClock
from edge.sim.host import LivePlant
from edge.sim.ocpp_host import ocpp_chargers, ocpp_fleets
from edge.siteconf.loader import load_site

CONFIG = Path(__file__).resolve().parents[1] / "config"


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    for name in ("demo-ocpp.toml", "demo-ocpp.secrets", "demo-anpr.secret"):
        shutil.copyfile(CONFIG / name, tmp_path / name)
    (tmp_path / "demo-ocpp.secrets").chmod(0o600)
    return tmp_path


def test_every_ocpp_charger_is_a_charge_point_of_its_version_with_its_password(
    site_dir: Path,
) -> None:
    site = load_site(site_dir / "demo-ocpp.toml")
    live = LivePlant(site, SimClock())
    [fleet] = ocpp_fleets(site, live.plant, SimClock())
    cps = {i: cp.config for i, cp in fleet.cps.items()}
    assert {i: c.version for i, c in cps.items()} == {"cabinet-1": "1.6", "cabinet-2": "2.0.1"}
    assert cps["cabinet-1"].connectors == {1: "B01", 2: "B02"}
    assert cps["cabinet-2"].connectors == {1: "B03", 2: "B04"}
    assert cps["cabinet-1"].password == "demo-only-password-cab1"
    assert cps["cabinet-1"].meter_every_s == 2.0  # the link's meter_values_s
    assert fleet.cps["cabinet-2"].url == "ws://127.0.0.1:9310/ocpp/cabinet-2"
    assert fleet.step_s is None  # the LivePlant steps the plant


def test_ocpp_chargers_are_driven_not_released_to_their_maximum(site_dir: Path) -> None:
    site = load_site(site_dir / "demo-ocpp.toml")
    assert ocpp_chargers(site) == {"ch01", "ch02"}
    live = LivePlant(site, SimClock())
    live.release_uncontrolled()
    assert {b: s.limit_w for b, s in live.plant.bays.items()} == dict.fromkeys(
        ("B01", "B02", "B03", "B04"), 0.0
    )  # 0 W until a charge point's session starts


def test_an_unreadable_passwords_file_leaves_the_charge_points_without_one(
    site_dir: Path,
) -> None:
    site = load_site(site_dir / "demo-ocpp.toml")
    (site_dir / "demo-ocpp.secrets").chmod(0o644)  # the endpoint refuses it too
    [fleet] = ocpp_fleets(site, LivePlant(site, SimClock()).plant, SimClock())
    assert {cp.config.password for cp in fleet.cps.values()} == {None}


def test_edge_demo_ocpp_makes_the_shipped_passwords_file_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = tmp_path / "demo-ocpp.secrets"
    secrets.write_text('cabinet-1 = "x"\n')
    secrets.chmod(0o644)  # as a checkout leaves it
    monkeypatch.setattr(demo, "DEMO_SECRETS", secrets)
    demo._private_demo_secrets()
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert "chmod 600" in capsys.readouterr().out
    demo._private_demo_secrets()  # once: nothing more to say
    assert capsys.readouterr().out == ""
