"""The site file: shipped configs load; every error is reported at once, naming where."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.siteconf import ConfigError, load_site, load_site_with_warnings
from edge.siteconf.model import Connector, InletSide, LinkType
from tests.conftest import DEMO, REPO


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_site(path)
    return [str(i) for i in info.value.issues if i.severity == "error"]


@pytest.mark.parametrize("name", ["demo.toml", "antwerp-bruges.toml", "antwerp-bruges-mcs.toml"])
def test_shipped_configs_load_without_errors(name: str) -> None:
    config = load_site(REPO / "config" / name)
    assert config.site_id
    assert config.root_limit().parent is None


def test_antwerp_bruges_is_the_hub_the_issue_describes() -> None:
    config = load_site(REPO / "config" / "antwerp-bruges.toml")
    assert [p.id for p in config.plots] == ["goordijk", "ketenis"]
    assert len(config.bays) == 30
    assert len(config.chargers) == 15
    assert all(c.max_power_kw == 400 for c in config.chargers)
    assert all(b.connector is Connector.CCS for b in config.bays)
    per_charger = {c.id: sum(b.charger == c.id for b in config.bays) for c in config.chargers}
    assert set(per_charger.values()) == {2}
    assert config.root_limit().import_kw < sum(c.max_power_kw for c in config.chargers)
    assert {d.role for d in config.devices} >= {"grid", "pv", "wind"}
    lanes = sorted((g.plot, g.direction) for g in config.gates)  # an entry and an exit per plot
    assert lanes == [(p, d) for p in ("goordijk", "ketenis") for d in ("entry", "exit")]


def test_mcs_variant_differs_only_by_configuration() -> None:
    config = load_site(REPO / "config" / "antwerp-bruges-mcs.toml")
    mcs = [b for b in config.bays if b.connector is Connector.MCS]
    assert mcs
    assert all(
        next(c for c in config.chargers if c.id == b.charger).max_power_kw >= 1000 for b in mcs
    )


def test_demo_values_and_defaults() -> None:
    config = load_site(DEMO)
    assert config.control.period_s == 1.0
    assert config.link("sim-lan").type is LinkType.SIMULATED
    assert config.device("grid-meter").unit == 1
    assert config.bays[3].inlet_sides == (InletSide.LEFT, InletSide.RIGHT)
    assert len(config.digest) == 64


def test_wrong_connector_names_file_line_key_and_choices(write_site, demo_text: str) -> None:
    path = write_site(demo_text.replace('connector = "CCS"', 'connector = "MSC"', 1))
    errors = errors_of(path)
    assert len(errors) == 1
    line = demo_text.splitlines().index('connector = "CCS"') + 1
    assert errors[0] == f"{path}:{line}: bays[0].connector: 'MSC' is not one of CCS, MCS"


def test_every_error_is_reported_at_once(write_site, demo_text: str) -> None:
    text = (
        demo_text.replace('connector = "CCS"', 'connector = "MSC"', 1)
        .replace('charger = "ch02"', 'charger = "ch99"', 1)
        .replace("fallback_kw = 400 ", "fallback_kw = 1400 ")
        .replace('name = "Main plot"', 'name = "Main plot"\ncolour = "red"')
        .replace('profile = "janitza-umg604"', 'profile = "no-such-meter"', 1)
    )
    errors = "\n".join(errors_of(write_site(text)))
    assert "bays[0].connector: 'MSC' is not one of CCS, MCS" in errors
    assert "bays[2].charger: unknown charger 'ch99' (known: ch01, ch02)" in errors
    assert "limits[0].fallback_kw: 1400 kW exceeds this node's import_kw 600 kW" in errors
    assert "plots[0].colour: unknown key" in errors
    assert "devices[0].profile: unknown profile 'no-such-meter'" in errors
    assert all(re.match(r"^.+site\.toml:\d+: ", line) for line in errors.splitlines())


def test_duplicate_ids_and_missing_required_keys(write_site, demo_text: str) -> None:
    text = demo_text.replace('id = "B02"', 'id = "B01"').replace(
        'max_power_kw = 400\ninlet_sides = ["right"]', 'inlet_sides = ["right"]'
    )
    errors = "\n".join(errors_of(write_site(text)))
    assert "bays[1].id: duplicate id 'B01'" in errors
    assert "bays[1].max_power_kw: missing (required)" in errors


def test_limits_that_cannot_be_met(write_site, demo_text: str) -> None:
    text = demo_text.replace(
        'id = "B01"\nplot = "main"\ncharger = "ch01"\nconnector = "CCS"\nmax_power_kw = 400',
        'id = "B01"\nplot = "main"\ncharger = "ch01"\nconnector = "CCS"\nmax_power_kw = 600',
    ).replace("fallback_kw = 50", "fallback_kw = 290")
    errors = "\n".join(errors_of(write_site(text)))
    assert "bays[0].max_power_kw: 600 kW exceeds what a CCS connector carries (500 kW)" in errors
    assert "600 kW cannot be met: charger 'ch01' delivers at most 400 kW" in errors
    # Two cabinets falling back to 290 kW each (580 kW) still fit the 600 kW grid:
    assert "fall back to" not in errors
    over = demo_text.replace("fallback_kw = 50", "fallback_kw = 400").replace(
        "import_kw = 600\nexport_kw", "import_kw = 700\nexport_kw"
    )
    over = over.replace("fallback_kw = 400 ", "fallback_kw = 300 ")
    assert "chargers below this node fall back to 800 kW together" in "\n".join(
        errors_of(write_site(over, "over.toml"))
    )


def test_limit_tree_must_have_one_root_and_no_cycle(write_site, demo_text: str) -> None:
    text = demo_text.replace(
        'name = "Grid connection"', 'name = "Grid connection"\nparent = "feeder-main"'
    )
    errors = "\n".join(errors_of(write_site(text)))
    assert "limits: must have exactly one root (the grid connection), found 0" in errors
    assert "limits[0].parent: limit 'grid' is part of a cycle" in errors
    assert "limits[1].parent: limit 'feeder-main' is part of a cycle" in errors


def test_warnings_do_not_stop_the_load(write_site, demo_text: str) -> None:
    text = demo_text.replace('plot = "main"\nimport_kw = 600', 'plot = "main"\nimport_kw = 1200')
    config, issues = load_site_with_warnings(write_site(text))
    assert config.site_id == "demo-hub"
    assert any("can never be reached" in str(i) and i.severity == "warning" for i in issues)


def test_toml_syntax_error_names_the_line(write_site) -> None:
    errors = errors_of(write_site("[site]\nid = 'x'\nname = \n"))
    assert len(errors) == 1
    assert re.match(r".+site\.toml:3: \(top level\): not valid TOML", errors[0])


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path / "absent.toml")
    assert "cannot read" in errors[0]


def test_wrong_types_name_the_expected_type(write_site, demo_text: str) -> None:
    errors = "\n".join(
        errors_of(write_site(demo_text.replace("period_s = 1.0", 'period_s = "fast"')))
    )
    assert "control.period_s: must be a number, got a string 'fast'" in errors


def test_enabled_uplink_needs_existing_tls_files(write_site, demo_text: str) -> None:
    text = (
        demo_text
        + '\n[uplink]\nbroker = "mqtts://127.0.0.1:8883"\n'
        + 'ca_file = "missing-ca.pem"\ncert_file = "c.pem"\n'
    )
    errors = "\n".join(errors_of(write_site(text)))
    assert "uplink.ca_file: file not found" in errors
    assert "cert_file and key_file go together" in errors


def test_gate_points_must_exist_and_be_writable(write_site) -> None:
    text = (REPO / "config" / "antwerp-bruges.toml").read_text()
    text = text.replace(
        'barrier_output = "io-goordijk:output_1"', 'barrier_output = "io-goordijk:input_3"'
    )
    text = text.replace('vehicle_sensor = "io-ketenis:input_1"', 'vehicle_sensor = "io-ketenis:x9"')
    errors = "\n".join(errors_of(write_site(text)))
    assert "gates[0].barrier_output: point 'io-goordijk:input_3' is read-only" in errors
    assert "gates[2].vehicle_sensor: profile 'wago-750-352-dio' has no point 'x9'" in errors


def test_an_export_kw_below_the_root_is_a_warning(write_site, demo_text: str) -> None:
    text = demo_text.replace(
        'plot = "main"\nimport_kw = 600', 'plot = "main"\nimport_kw = 600\nexport_kw = 100'
    )
    config, issues = load_site_with_warnings(write_site(text))
    assert next(n for n in config.limits if n.id == "feeder-main").export_kw == 100.0
    assert any(
        "limits[1].export_kw: not enforced" in str(i) and i.severity == "warning" for i in issues
    )
