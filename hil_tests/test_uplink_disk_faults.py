"""The whole daemon with its state directory on a 3 MB tmpfs, the broker down: a full disk
shows as a warning in `edge status`, clears once there is room, and SIGTERM ends the
process promptly in either state. A read-only state directory likewise."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hil_tests.broker import free_port
from hil_tests.daemon_process import DaemonProcess, dump
from tests.small_fs import mount, read_only, small_tmpfs

pytestmark = pytest.mark.hil
DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"
STOP_BOUND_S = 10.0  # a bound for a loaded machine; the daemon's own budget is 4 s


@pytest.fixture
def state_fs(tmp_path: Path) -> Iterator[Path]:
    """tmp_path/state is a 3 MB tmpfs (where DaemonProcess keeps the state), unmounted after."""
    with small_tmpfs(tmp_path / "state") as state:
        yield state


def site_file(tmp: Path) -> Path:
    broker = f"mqtt://127.0.0.1:{free_port()}"  # nobody listens: the broker is down
    text = DEMO.read_text().replace(
        "[storage]", f'[uplink]\nbroker = "{broker}"\nsnapshot_every_s = 1\n\n[storage]'
    )
    path = tmp / "site.toml"
    path.write_text(text)
    return path


def wait_status(
    daemon: DaemonProcess, check: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    for _ in range(300):  # bounded: about 60 s
        status = daemon.call("status")
        if check(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"never: {what}\n{dump(status)}\n{daemon.log()[-3000:]}")


def buffer_warnings(status: dict[str, Any]) -> list[str]:
    return [w for w in status["warnings"] if w.startswith("uplink buffer:")]


def fill(path: Path) -> None:
    """Fill the filesystem (it may be full already: the buffer grows while the broker is down)."""
    with contextlib.suppress(OSError), path.open("wb") as f:
        for _ in range(1000):  # 16 MB at most: far more than the tmpfs holds
            f.write(b"\0" * 16384)
            f.flush()


def test_full_disk_is_a_warning_recovers_and_stops_promptly(tmp_path: Path, state_fs: Path) -> None:
    daemon = DaemonProcess(site_file(tmp_path), tmp_path)
    try:
        daemon.wait_cycles(2)
        fill(state_fs / "filler")
        try:
            status = wait_status(daemon, lambda s: bool(buffer_warnings(s)), "the fault shown")
        except Exception:
            print(daemon.log()[-3000:])
            raise
        assert "disk_full" in buffer_warnings(status)[0]
        (state_fs / "filler").unlink(missing_ok=True)
        wait_status(daemon, lambda s: not buffer_warnings(s), "the fault cleared")
        fill(state_fs / "filler")  # full again, and then asked to stop
        wait_status(daemon, lambda s: bool(buffer_warnings(s)), "the fault shown again")
        code, took = daemon.terminate(timeout_s=STOP_BOUND_S)
        print(f"full disk: SIGTERM to exit {took:.2f} s")  # the figure, for the notes
        assert code == 0, daemon.log()[-3000:]
        assert "task_restart task=uplink-outbox" not in daemon.log()  # no crash loop
    finally:
        daemon.close()


def test_read_only_state_dir_is_a_warning_and_stops_promptly(
    tmp_path: Path, state_fs: Path
) -> None:
    read_only(state_fs, True)
    daemon = DaemonProcess(site_file(tmp_path), tmp_path)
    try:
        try:
            status = wait_status(daemon, lambda s: bool(buffer_warnings(s)), "the fault shown")
        except Exception:
            print(daemon.log()[-3000:])
            raise
        assert "Read-only" in buffer_warnings(status)[0]
        assert status["uplink"]["buffer_depth"] is None  # unknown, not "buffer 0"
        code, took = daemon.terminate(timeout_s=STOP_BOUND_S)
        print(f"read-only state dir: SIGTERM to exit {took:.2f} s")
        assert code == 0, daemon.log()[-3000:]
        assert "task_restart task=uplink-outbox" not in daemon.log()
    finally:
        daemon.close()
        mount("-o", "remount,rw", str(state_fs))  # no assert: the test's own error wins
