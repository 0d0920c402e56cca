"""CLI exit codes and messages: 0 ok, 1 failure, 2 usage, 3 daemon not reachable."""

from __future__ import annotations

import ast
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edge.cli.main import COMMAND_MODULES, main
from edge.cli.render import status_page
from tests.conftest import DEMO, REPO


def test_no_command_and_unknown_command_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["status", "--bogus"]) == 2
    assert "usage: edge" in capsys.readouterr().err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "config" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["status", "devices", "top"])
def test_daemon_not_running_says_how_to_start_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--socket",
            str(tmp_path / "none.sock"),
            command,
            *(["--duration", "0.5"] if command == "top" else []),
        ]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "daemon not reachable" in err
    if command != "top":
        assert "edge run --config" in err


def test_config_check_ok_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(DEMO)]) == 0
    assert "ok (site demo-hub, 4 bays" in capsys.readouterr().out
    assert main(["config", "check", str(DEMO), "--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out


def test_config_check_lists_all_errors_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        DEMO.read_text().replace('"CCS"', '"MSC"').replace('charger = "ch02"', 'charger = "chX"')
    )
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("is not one of CCS, MCS") == 4
    assert err.count("unknown charger 'chX'") == 2
    assert "6 error(s)" in err


def test_run_with_bad_config_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\nid='x'\n")
    sock = tmp_path / "edge.sock"
    assert main(["run", "--config", str(bad), "--socket", str(sock)]) == 1
    err = capsys.readouterr().err
    assert "site.name: missing (required)" in err
    assert "nothing started" in err
    assert not sock.exists()


def test_run_refuses_a_state_dir_or_socket_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("")
    long_socket = tmp_path / ("s" * 120)
    args = ["run", "--config", str(DEMO), "--state-dir", str(a_file)]
    assert main([*args, "--socket", str(long_socket)]) == 1
    err = capsys.readouterr().err
    assert "edge run: state_dir:" in err
    assert "edge run: socket:" in err
    assert "nothing started" in err
    assert not long_socket.exists()


def test_version_without_daemon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", str(tmp_path / "x.sock"), "version"]) == 0
    assert capsys.readouterr().out.startswith("edge 0.")


@pytest.mark.peer
def test_a_full_accept_queue_reads_busy_not_down(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "edge.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)  # a daemon flooded with connections: its queue is full
    queued = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            queued.append(s)
            try:
                s.connect(str(path))
            except BlockingIOError:
                break
        assert main(["--socket", str(path), "status"]) == 1
    finally:
        for s in queued:
            s.close()
        listener.close()
    err = capsys.readouterr().err
    assert "is busy" in err
    assert "not reachable" not in err
    assert "systemctl start" not in err


STATUS: dict[str, Any] = {
    "site": {
        "id": "demo-hub", "name": "Demo hub", "mode": "normal", "import_w": 250_000.0,
        "import_limit_w": 1_000_000.0, "headroom_w": 750_000.0, "generation_w": 40_000.0,
        "grid_limit_id": "grid", "configured_import_kw": 1000.0, "fallback_kw": 200.0,
        "cycle": 12, "cycle_age_s": 0.2,
    },
    "daemon": {
        "version": "0.1.0", "boot_id": "ab" * 16, "uptime_s": 12.0, "config": "demo.toml",
        "config_sha256": "0" * 16, "cycles": 12, "failed_cycles": 0, "overruns": 0,
    },
    "bays": {"total": 4, "busy": None, "free": None, "unknown": 4,
             "by_connector": {"CCS": 2, "MCS": 2}},
    "gate": {"lanes": [], "state": "none"},
    "uplink": {"configured": False, "broker": None, "state": "disabled", "buffer_depth": None},
    "devices": {"total": 5, "ok": 5, "lost": 0},
    "warnings": [],
}  # fmt: skip


def test_status_page_shows_the_control_cycle_and_cpu_when_present() -> None:
    assert "Control" not in status_page(STATUS)
    page = status_page(
        {**STATUS, "control": {"cycle_p50_ms": 1.234, "cycle_p99_ms": 7.5, "cpu_percent": 0.84}}
    )
    assert "Control   cycle p50 1.2 ms, p99 7.5 ms, CPU 0.8%" in page.splitlines()
    page = status_page(
        {**STATUS, "control": {"cycle_p50_ms": None, "cycle_p99_ms": None, "cpu_percent": None}}
    )
    assert "Control   cycle p50 - ms" not in page
    assert "Control   cycle p50 -, p99 -, CPU -" in page.splitlines()


def test_status_page_of_the_fixture() -> None:
    page = status_page(STATUS).splitlines()
    assert page[0] == "Site      Demo hub (demo-hub)"
    assert "Grid      import 250.0 kW / limit 1000.0 kW (25% of limit)" in page[2]


def test_no_command_module_imports_main_and_each_registers_itself() -> None:
    """The CLI has no import cycle: main lists the command modules, they never import it."""
    for path in (REPO / "edge" / "cli").glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names
        }
        assert "edge.cli.main" not in imported, path
    for module in COMMAND_MODULES:
        assert callable(module.register), module


@pytest.mark.peer
def test_the_cli_loads_no_driver_daemon_or_mqtt_code_to_start() -> None:
    probe = (
        "import sys, edge.cli.main; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pymodbus', 'paho', 'can', 'cantools', 'jsonschema') "
        "or m.startswith(('edge.runtime', 'edge.drivers', 'edge.uplink'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "[]"
