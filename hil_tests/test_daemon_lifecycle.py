"""The whole daemon as systemd runs it: READY after the first cycle, a watchdog kick per
cycle, a live local API, and a clean SIGTERM exit within 5 s."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.siteconf import load_site
from hil_tests.conftest import REPO
from hil_tests.daemon_process import DaemonProcess, dump

pytestmark = pytest.mark.hil


def test_ready_watchdog_status_and_clean_stop(demo_daemon: DaemonProcess) -> None:
    notify = demo_daemon.notify
    assert notify is not None
    ready_at = notify.wait_for("READY=1", timeout_s=20)
    assert ready_at is not None, demo_daemon.log()
    status = demo_daemon.wait_cycles(3)
    assert status["daemon"]["cycles"] >= 3, dump(status)
    # READY came with the first completed cycle, then one WATCHDOG=1 per completed cycle.
    notify.collect(time.monotonic() + 0.5)
    fields = [m.split("\n") for _, m in notify.messages]
    assert "READY=1" in fields[0]
    assert any(f.startswith("STATUS=normal: grid") for f in fields[0])
    kicks = sum("WATCHDOG=1" in f for f in fields)
    cycles = demo_daemon.call("status")["daemon"]["cycles"]
    assert 2 <= kicks <= cycles - 1

    site = status["site"]
    assert site["mode"] == "normal", dump(status)
    assert site["import_limit_w"] == 600_000.0
    assert isinstance(site["import_w"], float)
    configured = len(load_site(REPO / "config" / "demo.toml").devices)
    assert status["devices"] == {"total": configured, "ok": configured, "lost": 0, "stalled": 0}
    assert status["bays"]["total"] == 4

    code, took = demo_daemon.terminate()
    assert code == 0, demo_daemon.log()
    assert took < 5.0
    assert any("STOPPING=1" in m for _, m in notify.messages) or notify.wait_for("STOPPING=1", 2)
    assert not demo_daemon.socket_path.exists()
    events = demo_daemon.log_events()
    assert any("stopped cleanly" in e for e in events)
    assert all(" " in e and e.startswith("ts=") for e in events)  # one event per line


def test_api_survives_garbage_from_raw_sockets(demo_daemon: DaemonProcess) -> None:
    demo_daemon.wait_cycles(1)
    for payload in (b"\x00\xff" * 100 + b"\n", b"{" * 70000, b'{"method":"status"'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(demo_daemon.socket_path))
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)  # half-close
        s.recv(65536)
        s.close()
    before = demo_daemon.call("status")["daemon"]["cycles"]
    after = demo_daemon.wait_cycles(before + 2)["daemon"]["cycles"]
    assert after >= before + 2  # control kept running throughout
    assert demo_daemon.proc.poll() is None
    code, _ = demo_daemon.terminate()
    assert code == 0


def test_sigint_also_stops_cleanly(demo_daemon: DaemonProcess) -> None:
    demo_daemon.wait_cycles(1)
    demo_daemon.proc.send_signal(signal.SIGINT)
    assert demo_daemon.proc.wait(timeout=10) == 0


def test_cli_read_commands_against_the_daemon(
    demo_daemon: DaemonProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from edge.cli.main import main

    demo_daemon.wait_cycles(2)
    sock = str(demo_daemon.socket_path)
    assert main(["--socket", sock, "status"]) == 0
    page = capsys.readouterr().out
    assert "Mode      normal" in page
    # the demo's cabinets report every bay: each busy or free, none unknown
    assert re.search(r"Bays      4 total \(4 CCS, 0 MCS\), \d busy, \d free\n", page), page
    assert main(["--socket", sock, "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["site"]["id"] == "demo-hub"
    assert main(["--socket", sock, "devices"]) == 0
    table = capsys.readouterr().out
    assert "grid-meter" in table
    assert "eastron-sdm630" in table
    assert "sim-lan" in table
    assert main(["--socket", sock, "top", "--duration", "1.5", "--interval", "0.5"]) == 0
    assert capsys.readouterr().out.count("edge top") >= 2
    assert main(["--socket", sock, "version", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["daemon"]["version"]


def second_daemon(
    workdir: Path, socket_path: Path, state_dir: Path
) -> subprocess.CompletedProcess[str]:
    """Another `edge run` for the same site, run to its end (bounded)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "edge",
            "run",
            "--config",
            str(REPO / "config" / "demo.toml"),
            "--socket",
            str(socket_path),
            "--state-dir",
            str(state_dir),
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("shared", ["state_dir", "socket"])
def test_a_second_daemon_for_the_site_exits_1_naming_the_first_and_touches_nothing(
    demo_daemon: DaemonProcess, tmp_path: Path, shared: str
) -> None:
    before = demo_daemon.wait_cycles(2)["daemon"]["cycles"]
    other = tmp_path / "second"
    other.mkdir()
    if shared == "state_dir":
        second = second_daemon(other, other / "edge.sock", tmp_path / "state")
    else:
        second = second_daemon(other, demo_daemon.socket_path, other / "state")
    assert second.returncode == 1, second.stderr
    lines = (second.stdout + second.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert f"another edge daemon (pid {demo_daemon.proc.pid}) is running" in lines[0]
    # The first daemon kept its socket and kept running; the second started nothing.
    assert demo_daemon.socket_path.exists()
    assert demo_daemon.wait_cycles(before + 2)["daemon"]["cycles"] >= before + 2
    assert not (other / "edge.sock").exists()
    assert "simulator" not in second.stderr
    code, _ = demo_daemon.terminate()
    assert code == 0


def test_sighup_is_logged_and_ignored_and_sigterm_applies_the_safe_state(
    demo_daemon: DaemonProcess,
) -> None:
    before = demo_daemon.wait_cycles(2)["daemon"]["cycles"]
    demo_daemon.proc.send_signal(signal.SIGHUP)
    assert demo_daemon.wait_cycles(before + 3)["daemon"]["cycles"] >= before + 3
    assert demo_daemon.proc.poll() is None
    assert any("sighup_ignored" in e for e in demo_daemon.log_events())
    code, _ = demo_daemon.terminate()
    assert code == 0
    events = demo_daemon.log_events()
    assert any("safe_state_applied reason=stopping: SIGTERM" in e for e in events), events
