"""Each site file that once passed the check and then broke `edge run` (or the check itself)
is now refused by the check, naming file, line and key (issue 8, item 3)."""

# ruff: noqa: E501  # the case table reads best one case a line

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from edge.cli.main import main
from edge.siteconf import ConfigError, load_site
from edge.siteconf.host_checks import runtime_path_problems
from edge.siteconf.toml_lines import index_lines
from tests.conftest import DEMO

# The demo's entry lane without its limit switches, run time and camera: the gate cases
# below add those keys to it themselves.
ENTRY_EXTRAS = (
    'position_open = "io-gate-limits:input_1"\n',
    'position_closed = "io-gate-limits:input_2"\n',
    "run_time_s = 10                       # the simulated boom takes 3 s\n",
    'readers = [{ id = "cam-entry", kind = "anpr", endpoint = "127.0.0.1:0", secret_file = "demo-anpr.secret" }]\n',
)
DEMO_TEXT = DEMO.read_text()
for _line in ENTRY_EXTRAS:
    assert _line in DEMO_TEXT, _line
    DEMO_TEXT = DEMO_TEXT.replace(_line, "", 1)
UPLINK = '\n[uplink]\nbroker = "mqtt://127.0.0.1:1883"\nenabled = false\n'


def _sub(old: str, new: str, text: str = DEMO_TEXT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def _storage(line: str) -> str:
    return _sub(
        'state_dir = "/tmp/edge-demo-state"   # `edge demo` points this at its own temp dir', line
    )


HOLD = 'hold_input = "io-gate:input_4"        # fire brigade key switch (holds both lanes open)'

# (name, site text, expected error text after "FILE:LINE: ")
CASES: list[tuple[str, str, str]] = [
    ("unit-float", _sub("unit = 2\n", "unit = 2.0\n"), "devices[1].unit: must be an integer, got a number 2.0"),
    ("period-nan", _sub("period_s = 1.0", "period_s = nan"), "control.period_s: must be a finite number, got nan"),
    ("timeout-nan", _sub("timeout_s = 0.5", "timeout_s = nan"), "links[0].timeout_s: must be a finite number, got nan"),
    ("import-nan", _sub("import_kw = 600", "import_kw = nan"), "limits[0].import_kw: must be a finite number, got nan"),
    ("import-inf", _sub("import_kw = 600", "import_kw = inf"), "limits[0].import_kw: must be a finite number, got inf"),
    ("stale-neg-inf", _sub("stale_after_s = 3.0", "stale_after_s = -inf"), "control.stale_after_s: must be a finite number, got -inf"),
    ("peak-nan", _sub("peak_kw = 140", "peak_kw = nan"), "devices[0].sim.peak_kw: must be a finite number, got nan"),
    ("sim-model", _sub('model = "load"', 'model = "sine"'), "devices[1].sim.model: 'sine' is not one of grid, load, pv, wind, cabinet"),
    ("huge-int", _sub("import_kw = 600", "import_kw = 1" + "0" * 400), "limits[0].import_kw: 401-digit integer is out of range"),
    ("huge-kw", _sub("import_kw = 600", "import_kw = 1e300"), "limits[0].import_kw: must be <= 100000, got 1e+300"),
    ("snapshot-nan", DEMO_TEXT + UPLINK + "snapshot_every_s = nan\n", "uplink.snapshot_every_s: must be a finite number, got nan"),
    ("budget-nan", _storage("buffer_budget_mb = nan"), "storage.buffer_budget_mb: must be a finite number, got nan"),
    ("state-dir-nul", _storage('state_dir = "/tmp/a\\u0000b"'), "storage.state_dir: must not contain control characters"),
    ("state-dir-long", _storage(f'state_dir = "/tmp/{"x" * 5000}"'), "bytes long (at most 4095)"),
    ("state-dir-file", _storage('state_dir = "site.toml"'), "site.toml: exists and is not a directory"),
    ("state-dir-under-file", _storage('state_dir = "site.toml/state"'), "cannot be created:"),
    ("socket-long", _storage(f'socket = "/tmp/{"s" * 110}.sock"'), "a Unix socket path holds at most 107"),
    ("socket-dir", _storage('socket = "/tmp"'), "storage.socket: /tmp: is a directory"),
    ("socket-file", _storage('socket = "site.toml"'), "site.toml: exists and is not a socket"),
    ("ca-file-long", DEMO_TEXT + '\n[uplink]\nbroker = "mqtts://127.0.0.1"\nca_file = "' + "c" * 5000 + '"\n', "uplink.ca_file: not a file (cannot be looked at (File name too long))"),
    ("ca-file-dir", DEMO_TEXT + '\n[uplink]\nbroker = "mqtts://127.0.0.1"\nca_file = "/tmp"\n', "uplink.ca_file: not a file (directory): /tmp"),
    ("topic-long", DEMO_TEXT + UPLINK + 'topic_prefix = "' + "t" * 5000 + '"\n', "uplink.topic_prefix: must be at most 256 characters, got 5000"),
    ("state-dir-empty", _storage('state_dir = ""'), "storage.state_dir: must not be empty"),
    ("broker-port", DEMO_TEXT + '\n[uplink]\nbroker = "mqtt://127.0.0.1:99999"\nenabled = false\n', "uplink.broker: port 99999 is not a TCP port (1-65535"),
    ("broker-port-0", DEMO_TEXT + '\n[uplink]\nbroker = "mqtt://127.0.0.1:0"\nenabled = false\n', "uplink.broker: port 0 is not a TCP port"),
    ("timezone", _sub('timezone = "Europe/Brussels"', 'timezone = "Europe/Brusels"'), "site.timezone: unknown time zone 'Europe/Brusels'"),
    ("id-newline", _sub('id = "B02"', 'id = "B02\\n"'), "bays[1].id: must not contain control characters"),
    ("same-unit", _sub("unit = 3\n", "unit = 2\n"), "devices[2].unit: unit 2 on link 'sim-lan' is already device 'plot-meter-main'"),
    ("unit-0-simulated", _sub("unit = 3\n", "unit = 0\n"), "devices[2].unit: 0 on a simulated link: the simulator keeps 0"),
    ("can-on-simulated", _sub("[[chargers]]", '[[devices]]\nid = "cab"\nkind = "charger"\nprofile = "edgehub-can-cabinet"\nlink = "sim-lan"\nunit = 20\n\n[[chargers]]'), "devices[9].profile: a can profile cannot be on a simulated link"),
    ("lost-before-stale", _sub("stale_after_s = 3.0", "stale_after_s = 3.0\nlost_after_s = 2.0"), "control.lost_after_s: lost_after_s (2 s) must be longer than stale_after_s (3 s)"),
    ("list-link-type", _sub('type = "simulated"', 'type = ["simulated"]'), 'links[0].type: must be the string "modbus-tcp" or'),
    ("list-id", _sub('id = "grid"', 'id = ["grid"]'), "limits[0].id: must be a string, got a list ['grid']"),
    ("mqtt-version", DEMO_TEXT + UPLINK + "mqtt_version = 5\n", 'uplink.mqtt_version: must be the string "5" or "3.1.1" (in quotes), got an integer 5'),
    ("deep-array", _sub('inlet_sides = ["left"]', "inlet_sides = " + "[" * 3000 + "]" * 3000), "(top level): arrays or inline tables nested too deeply"),
    ("deep-table", _sub('inlet_sides = ["left"]', "inlet_sides = " + "{a=" * 3000 + "1" + "}" * 3000), "(top level): arrays or inline tables nested too deeply"),
    ("misspelt-header", _sub("[[bays]]", "[[bayz]]"), "bayz: unknown key (allowed here:"),
    ("log-area", DEMO_TEXT.replace("[logging]", '[logging]\nareas = { "edge.drivrs" = "debug" }', 1), "logging.areas.edge.drivrs: not one of the daemon's log areas"),
    ("two-roots", _sub('parent = "grid"\nplot = "north"', 'plot = "north"'), "limits[2]: must have exactly one root (the grid connection), found 2: limits[0] 'grid', limits[2] 'feeder-north' have no parent"),
    ("gate-run-time", _sub(HOLD, HOLD + "\nrun_time_s = 0"), "gates[0].run_time_s: must be > 0, got 0"),
    ("gate-clear-nan", _sub(HOLD, HOLD + "\nclear_s = nan"), "gates[0].clear_s: must be a finite number, got nan"),
    ("gate-photocell-device", _sub('photocell = "io-gate:input_3"', 'photocell = "io-gat:input_3"'), "gates[0].photocell: unknown device 'io-gat'"),
    ("gate-position-point", _sub(HOLD, HOLD + '\nposition_open = "io-gate:input_9"'), "gates[0].position_open: profile 'wago-750-352-dio' has no point 'input_9'"),
    ("gate-positions-same", _sub(HOLD, HOLD + '\nposition_open = "io-gate:input_8"\nposition_closed = "io-gate:input_8"'), "gates[0].position_closed: must be another input than position_open"),
    ("gate-one-limit", _sub(HOLD, HOLD + '\nposition_closed = "io-gate:input_8"'), "gates[0].position_closed: needs position_open too (both limit switches, or neither)"),
    ("reader-kind", _sub(HOLD, HOLD + '\nreaders = [{ id = "r1", kind = "barcode", port = "/dev/ttyS9" }]'), "gates[0].readers[0].kind: 'barcode' is not one of anpr, qr, rfid"),
    ("reader-anpr-endpoint", _sub(HOLD, HOLD + '\nreaders = [{ id = "cam", kind = "anpr", secret_file = "s" }]'), "gates[0].readers[0].endpoint: missing (needed by anpr readers)"),
    ("reader-qr-port", _sub(HOLD, HOLD + '\nreaders = [{ id = "qr", kind = "qr", endpoint = "127.0.0.1:8089" }]'), "gates[0].readers[0].endpoint: not used by qr readers"),
    ("reader-endpoint", _sub(HOLD, HOLD + '\nreaders = [{ id = "cam", kind = "anpr", endpoint = "http://x", secret_file = "s" }]'), "gates[0].readers[0].endpoint: 'http://x' is not allowed here"),
    ("reader-port-twice", _sub(HOLD, HOLD + '\nreaders = [{ id = "a", kind = "qr", port = "/dev/ttyS9" }, { id = "b", kind = "rfid", port = "/dev/ttyS9" }]'), "gates[0].readers[1].port: /dev/ttyS9 is already used by gates[0].readers[0]"),
    ("reader-unknown-key", _sub(HOLD, HOLD + '\nreaders = [{ id = "a", kind = "qr", port = "/dev/ttyS9", parity = "E" }]'), "gates[0].readers[0].parity: unknown key"),
    ("qr-key-hex", DEMO_TEXT + '\n[access]\nqr_keys = { "1" = "zz" }\n', "access.qr_keys.1: 'zz' is not allowed here (must match"),
    ("qr-key-short", DEMO_TEXT + '\n[access]\nqr_keys = { "1" = "' + "ab" * 31 + '" }\n', "access.qr_keys.1: '"),
    ("qr-key-id", DEMO_TEXT + '\n[access]\nqr_keys = { "k1" = "' + "ab" * 32 + '" }\n', "access.qr_keys: 'k1' is not allowed here"),
    ("access-debounce", DEMO_TEXT + '\n[access]\ndebounce_s = -1\n', "access.debounce_s: must be > 0, got -1"),
    ("access-unknown", DEMO_TEXT + '\n[access]\nqr_key = 1\n', "access.qr_key: unknown key"),
    ("bay-occupancy", _sub("connector_id = 2\n", 'connector_id = 2\noccupancy_sensor = "io-gate:output_9"\n'), "bays[1].occupancy_sensor: profile 'wago-750-352-dio' has no point 'output_9'"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_refused_at_the_check_with_file_line_and_key(
    name: str, text: str, expected: str, write_site
) -> None:
    path: Path = write_site(text)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    errors = [i for i in info.value.issues if i.severity == "error"]
    found = [i for i in errors if expected in str(i)]
    assert found, "\n".join(str(i) for i in errors)
    assert all(i.line is not None for i in found)
    assert re.match(rf"^{re.escape(str(path))}:\d+: ", str(found[0]))


def test_the_line_points_at_the_offending_key(write_site) -> None:
    text = _sub("period_s = 1.0", "period_s = nan")
    with pytest.raises(ConfigError) as info:
        load_site(write_site(text))
    assert info.value.issues[0].line == text.splitlines().index("period_s = nan") + 1


def test_known_log_areas_load(write_site) -> None:
    areas = '[logging]\nareas = { "edge.drivers.modbus_link" = "debug", "pymodbus" = "info" }'
    config = load_site(write_site(DEMO_TEXT.replace("[logging]", areas, 1)))
    assert config.logging.areas["edge.drivers.modbus_link"] == "debug"


def test_a_valid_socket_and_state_dir_load(write_site, tmp_path: Path) -> None:
    text = _storage(f'state_dir = "{tmp_path}/new/state"\nsocket = "{tmp_path}/run/edge.sock"')
    config = load_site(write_site(text))
    assert config.storage.state_dir == tmp_path / "new" / "state"


@pytest.mark.timeout(60)  # a bound, not a measure: the cubic scanner needed hours here
def test_the_line_scanner_skips_multiline_strings_in_linear_time() -> None:
    """Was cubic: a line starting with `[` in a multi-line string, 2,000 spaces: 7.6 s.
    bench/toml_lines_bench.py measures it against tomllib."""
    text = 'name = """\n[[bays]]\n[' + " " * 20_000 + '\n"""\n[[bays]]\nid = "B1"\n'
    lines = index_lines(text)
    assert lines[("bays", 0, "id")] == 6  # the `[[bays]]` inside the string is not a header
    assert ("bays", 1) not in lines


def test_config_check_prints_the_error_not_a_traceback(write_site, capsys) -> None:
    path = write_site(_sub("import_kw = 600", "import_kw = 1" + "0" * 400))
    assert main(["config", "check", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:31: limits[0].import_kw: 401-digit integer is out of range" in err
    assert "Traceback" not in err


def test_paths_given_at_run_time_get_the_same_checks(tmp_path: Path) -> None:
    """`edge run --state-dir/--socket` and defaults from the environment bypass the file."""
    (tmp_path / "file").write_text("x")
    long_socket = tmp_path / ("s" * 120)
    problems, _ = runtime_path_problems(tmp_path / "file" / "state", long_socket)
    assert problems[0].startswith(f"state_dir: {tmp_path}/file/state: cannot be created:")
    assert "a Unix socket path holds at most 107" in problems[1]
    assert runtime_path_problems(tmp_path / "state", tmp_path / "edge.sock") == ([], [])
    read_only = tmp_path / "ro"
    read_only.mkdir(mode=0o500)
    if os.access(read_only, os.W_OK):  # root writes anywhere: only a real ro mount shows it
        return
    assert runtime_path_problems(read_only, tmp_path / "edge.sock")[0] == []
