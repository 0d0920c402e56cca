"""The site keys power sharing needs (issue 9): each refused with file, line and key; the
defaults documented in docs/config.md; the pure core's tuning built from them."""

# ruff: noqa: E501  # the case table reads best one case a line

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge.power.allocation_model import ChargerTuning
from edge.power.budget import margin_w_of
from edge.siteconf import ConfigError, load_site
from edge.siteconf.model import Sessions
from tests.conftest import DEMO

DEMO_TEXT = DEMO.read_text()
CH01 = 'id = "ch01"\ndevice = "cabinet-1"\nlimit = "feeder-main"\nmax_power_kw = 400\nfallback_kw = 50\n'
# ch01 driven by an Alpitronic (two connectors) instead of the demo's simulated cabinet; the
# demo's bays B01/B02 are its connectors 1/2.
HYC = '[[devices]]\nid = "hyc"\nkind = "charger"\nprofile = "alpitronic-hyc"\nlink = "sim-lan"\nunit = 20\n\n[[chargers]]\n'


def _sub(old: str, new: str, text: str = DEMO_TEXT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _with_hyc(text: str = DEMO_TEXT) -> str:
    text = _sub("[[chargers]]\n", HYC, text)
    return _sub(CH01, CH01.replace('device = "cabinet-1"', 'device = "hyc"'), text)


def _charger(line: str) -> str:
    return _sub(CH01, CH01 + line + "\n")


def _control(line: str) -> str:
    return _sub("stale_after_s = 3.0\n", f"stale_after_s = 3.0\n{line}\n")


def _sessions(old: str, new: str) -> str:
    return _sub(old, new)


CASES: list[tuple[str, str, str]] = [
    ("margin-nan", _control("margin_kw = nan"), "control.margin_kw: must be a finite number, got nan"),
    ("margin-negative", _control("margin_kw = -1"), "control.margin_kw: must be >= 0, got -1"),
    ("margin-whole-root", _control("margin_kw = 600"), "control.margin_kw: 600 kW leaves nothing of the grid connection's 600 kW"),
    ("ramp-zero", _charger("ramp_kw_s = 0"), "chargers[0].ramp_kw_s: must be > 0, got 0"),
    ("ramp-inf", _charger("ramp_kw_s = inf"), "chargers[0].ramp_kw_s: must be a finite number, got inf"),
    ("ramp-down-negative", _charger("ramp_down_s = -2"), "chargers[0].ramp_down_s: must be > 0, got -2"),
    ("ramp-down-hours", _charger("ramp_down_s = 7200"), "chargers[0].ramp_down_s: must be <= 3600, got 7200"),
    ("pause-negative", _charger("pause_kw = -1"), "chargers[0].pause_kw: must be >= 0, got -1"),
    ("pause-above-min", _charger("min_power_kw = 20\npause_kw = 25"), "chargers[0].pause_kw: 25 kW must be below the running range (min_power_kw 20"),
    ("pause-above-max", _charger("pause_kw = 500"), "chargers[0].pause_kw: 500 kW must be below the running range"),
    ("connector-0", _sub("connector_id = 1", "connector_id = 0"), "bays[0].connector_id: must be >= 1, got 0"),
    ("connector-float", _sub("connector_id = 1", "connector_id = 1.0"), "bays[0].connector_id: must be an integer, got a number 1.0"),
    ("connector-missing", _with_hyc(_sub("connector_id = 1\n", "")), "bays[0].connector_id: missing: charger 'ch01' is device 'hyc' with 2 connectors; say which one this bay is (1-2)"),
    ("connector-absent", _with_hyc(_sub("connector_id = 2", "connector_id = 3")), "bays[1].connector_id: 3 does not exist: device 'hyc' has 2 connectors"),
    ("connector-twice", _with_hyc(_sub("connector_id = 2", "connector_id = 1")), "bays[1].connector_id: connector 1 of charger 'ch01' is already bay 'B01' (one bay per connector)"),
    ("break-dwell-zero", _sessions("break_dwell_min = 45", "break_dwell_min = 0"), "sessions.break_dwell_min: must be > 0, got 0"),
    ("break-energy-nan", _sessions("break_energy_kwh = 300", "break_energy_kwh = nan"), "sessions.break_energy_kwh: must be a finite number, got nan"),
    ("overnight-hours", _sessions('overnight_from = "18:00"', 'overnight_from = "24:00"'), "sessions.overnight_from: '24:00' is not allowed here"),
    ("overnight-empty", _sessions('overnight_until = "06:00"', 'overnight_until = "18:00"'), "sessions.overnight_until: 18:00 is also overnight_from"),
    ("sessions-unknown", _sessions("overnight_dwell_h = 10", "overnight_dwell = 10"), "sessions.overnight_dwell: unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refused_with_file_line_and_key(name: str, text: str, expected: str, write_site) -> None:
    path: Path = write_site(text)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    errors = [i for i in info.value.issues if i.severity == "error"]
    found = [i for i in errors if expected in str(i)]
    assert found, "\n".join(str(i) for i in errors)
    assert all(i.line is not None for i in found)
    assert re.match(rf"^{re.escape(str(path))}:\d+: ", str(found[0]))


def test_defaults(write_site) -> None:
    """Nothing set: margin 2 % of the root limit, tuning as the core's defaults, connector 1
    (chargers with no device), the default sessions."""
    text = re.sub(r"\n# Defaults for a session.*", "\n", DEMO_TEXT, flags=re.S)
    text = text.replace("connector_id = 1\n", "").replace("connector_id = 2\n", "")
    text = re.sub(r'device = "cabinet-\d"\n', "", text)
    config = load_site(write_site(text))
    assert config.control.margin_kw == pytest.approx(12.0)  # 2 % of the demo's 600 kW grid
    assert margin_w_of(config.control) == pytest.approx(12_000.0)
    assert ChargerTuning.of(config.chargers[0]) == ChargerTuning("ch01")
    assert {b.connector_id for b in config.bays} == {1}
    assert config.sessions == Sessions()


def test_values_as_written(write_site) -> None:
    text = _control("margin_kw = 35.5")
    text = _sub(CH01, CH01 + "ramp_kw_s = 20\nramp_down_s = 4\npause_kw = 1.5\n", text)
    config = load_site(write_site(_with_hyc(text)))
    assert config.control.margin_kw == 35.5
    assert ChargerTuning.of_site(config.chargers)[0] == ChargerTuning("ch01", 1500.0, 20_000.0, 4.0)
    assert [b.connector_id for b in config.bays if b.charger == "ch01"] == [1, 2]
    assert config.sessions.overnight_from_min == 18 * 60
    assert config.sessions.overnight_until_min == 6 * 60


@pytest.mark.parametrize(
    ("start", "end", "minute", "overnight"),
    [
        (18 * 60, 6 * 60, 17 * 60 + 59, False),
        (18 * 60, 6 * 60, 18 * 60, True),
        (18 * 60, 6 * 60, 2 * 60, True),
        (18 * 60, 6 * 60, 6 * 60, False),
        (1 * 60, 5 * 60, 0, False),  # a window that does not wrap past midnight
        (1 * 60, 5 * 60, 3 * 60, True),
    ],
)
def test_overnight_window_wraps_past_midnight(
    start: int, end: int, minute: int, overnight: bool
) -> None:
    sessions = Sessions(overnight_from_min=start, overnight_until_min=end)
    assert sessions.overnight_arrival(minute) is overnight
