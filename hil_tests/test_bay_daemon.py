"""The daemon as a child process, uplink disabled: a technician's `edge bay disable` survives
kill -9 right after its answer, and a corrupt local store is quarantined without a crash."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from edge.cli.main import main
from hil_tests.daemon_process import DaemonProcess, dump
from tests.conftest import DEMO

pytestmark = pytest.mark.hil


def cli(sock: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--socket", str(sock), *argv])
    return code, out.getvalue()


def test_a_disable_survives_kill9_and_a_corrupt_store_does_not_stop_the_daemon(
    tmp_path: Path,
) -> None:
    first = DaemonProcess(DEMO, tmp_path, notify=False)
    try:
        first.wait_cycles(1)
        code, _ = cli(first.socket_path, "bay", "disable", "B04", "--reason", "bollard hit")
        assert code == 0
        first.proc.kill()  # no shutdown at all: the answer came after the commit
        first.proc.wait(timeout=10)
    finally:
        first.close()
    second = DaemonProcess(DEMO, tmp_path, notify=False)
    try:
        second.wait_cycles(1)
        status = second.call("bay-status")
        assert status["unavailable_bays"] == ["B04"], dump(status)
        assert status["changes"][0]["reason"] == "bollard hit"
        assert second.terminate()[0] == 0
    finally:
        second.close()
    store = tmp_path / "state" / "site.db"
    store.write_bytes(b"\x00garbage" * 2000)
    third = DaemonProcess(DEMO, tmp_path, notify=False)
    try:
        status = third.wait_cycles(2)
        assert status["daemon"]["cycles"] >= 2
        assert any("quarantined as site.db.corrupt-" in w for w in status["warnings"])
        assert list(tmp_path.glob("state/site.db.corrupt-*"))
        code, _ = cli(third.socket_path, "bay", "disable", "B01", "--reason", "after repair")
        assert code == 0
        assert third.call("bay-status")["unavailable_bays"] == ["B01"]
        assert "local_store_quarantined" in third.log()
        assert third.terminate()[0] == 0
    finally:
        third.close()
