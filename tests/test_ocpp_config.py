"""OCPP links and OCPP chargers in the site file (edge/siteconf/ocpp_checks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.siteconf import load_site
from edge.siteconf.issues import ConfigError
from edge.siteconf.model import LinkType
from tests.ocpp_peers import write_site


def _errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_site(path)
    return [str(i) for i in info.value.issues if i.severity == "error"]


def test_an_ocpp_charger_without_a_profile_loads(tmp_path: Path) -> None:
    config = load_site(write_site(tmp_path))
    assert config.link("ocpp").type is LinkType.OCPP
    assert config.device("CP16").profile == "ocpp"
    assert config.device("CP16").unit is None
    assert [b.connector_id for b in config.bays] == [1, 2, 1]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'secrets_file = "secrets.toml"\n',
            "",
            "links[0].secrets_file: missing: an ocpp link needs 'secrets_file'",
        ),
        (
            'id = "CP16"\nkind = "charger"\n',
            'id = "CP16"\nkind = "meter"\n',
            "devices[0].kind: 'meter' on an ocpp link",
        ),
        (
            'id = "CP16"\nkind = "charger"\n',
            'id = "CP16"\nkind = "charger"\nunit = 3\n',
            "devices[0].unit: not used by OCPP charge points",
        ),
        (
            'id = "CP16"\nkind = "charger"\n',
            'id = "CP16"\nkind = "charger"\nprofile = "alpitronic-hyc"\n',
            "devices[0].profile: not used by OCPP charge points",
        ),
        ("port = 1\n", "port = 70000\n", "links[0].port: must be a TCP port 1..65535"),
        ("port = 1\n", 'port = 1\ncert_file = "c.pem"\n', "cert_file and key_file go together"),
        (
            "connector_id = 2\n",
            "",
            "bays[1].connector_id: missing: charger 'ch16' is OCPP charge point 'CP16' with 2 bays",
        ),
        (
            "connector_id = 2\n",
            "connector_id = 1\n",
            "bays[1].connector_id: connector 1 of charger 'ch16' is already bay 'B1'",
        ),
    ],
)
def test_refusals(tmp_path: Path, old: str, new: str, expected: str) -> None:
    path = write_site(tmp_path)
    path.write_text(path.read_text().replace(old, new, 1))
    errors = _errors(path)
    assert any(expected in e for e in errors), "\n".join(errors)


def test_ocpp_keys_only_on_ocpp_links_and_profiles_elsewhere(tmp_path: Path) -> None:
    path = write_site(tmp_path)
    extra = '[[links]]\nid = "bus"\ntype = "modbus-tcp"\nhost = "127.0.0.1"\nport = 502\n'
    extra += "heartbeat_s = 60\n"
    extra += '[[devices]]\nid = "m"\nkind = "meter"\nlink = "bus"\nunit = 1\n'
    extra += 'rate_unit = "A"\n'  # the unit of OCPP charging profiles
    path.write_text(path.read_text() + extra)
    errors = _errors(path)
    assert any("links[1].heartbeat_s: only for ocpp links" in e for e in errors), errors
    assert any("devices[2].profile: missing: a device needs a profile" in e for e in errors), errors
    assert any("devices[2].rate_unit: only for chargers on an ocpp link" in e for e in errors)


def test_secrets_file_mode_is_checked(tmp_path: Path) -> None:
    path = write_site(tmp_path)
    (tmp_path / "secrets.toml").chmod(0o644)
    errors = _errors(path)
    assert any("links[0].secrets_file" in e and "chmod 600" in e for e in errors), errors


def test_threshold_against_the_margin_is_a_warning(tmp_path: Path) -> None:
    from edge.siteconf.loader import load_site_with_warnings

    path = write_site(tmp_path)
    path.write_text(
        path.read_text().replace("port = 1\n", "port = 1\nprofile_threshold_kw = 20\n", 1)
    )
    _, issues = load_site_with_warnings(path)
    warned = [str(i) for i in issues if "profile_threshold_kw" in str(i)]
    assert warned
    assert "3 OCPP bays x 20 kW exceeds control.margin_kw 40 kW" in warned[0]
