"""`edge demo`: a simulated hub, live, with one command and no hardware.

Starts `edge run` on config/demo.toml in a child process (its devices served by simulators
over real Modbus TCP on 127.0.0.1), waits until it answers, shows `edge top`, and on Ctrl-C
or `--duration` stops the daemon and everything it started. `--ocpp` runs
config/demo-ocpp.toml instead: the same hub with its chargers as simulated OCPP charge points
(1.6J and 2.0.1) connecting to the daemon's OCPP endpoint on 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge.cli.top import run_top
from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient

REPO_DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
REPO_DEMO_OCPP = REPO_DEMO.with_name("demo-ocpp.toml")
DEMO_SECRETS = REPO_DEMO.with_name("demo-ocpp.secrets")  # its charge points' passwords


def _wait_ready(socket_path: Path, daemon: subprocess.Popen[bytes], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and daemon.poll() is None:
        try:
            with LocalApiClient(socket_path, timeout_s=1.0) as client:
                if client.call("status")["daemon"]["cycles"] > 0:
                    return True
        except (DaemonUnreachable, ApiError, OSError):
            pass
        time.sleep(0.1)
    return False


def _stop(daemon: subprocess.Popen[bytes]) -> int:
    if daemon.poll() is None:
        daemon.send_signal(signal.SIGTERM)
        try:
            return daemon.wait(timeout=6)
        except subprocess.TimeoutExpired:
            daemon.kill()
            return daemon.wait(timeout=5)
    return int(daemon.returncode)


def _private_demo_secrets() -> None:
    """A checkout leaves the shipped passwords file readable by all, and the daemon refuses
    such a file (docs/ocpp.md): make it the owner's alone, once, and say so."""
    if DEMO_SECRETS.exists() and DEMO_SECRETS.stat().st_mode & 0o077:
        DEMO_SECRETS.chmod(0o600)
        print(f"edge demo: chmod 600 {DEMO_SECRETS} (a passwords file is the owner's only)")


def run_demo(
    *, config: str | None, duration_s: float | None, keep: bool, ocpp: bool = False
) -> int:
    config_path = Path(config) if config else REPO_DEMO_OCPP if ocpp else REPO_DEMO
    if not config_path.exists():
        print(f"edge demo: no demo config at {config_path}; pass --config PATH", file=sys.stderr)
        return 1
    if config_path == REPO_DEMO_OCPP:
        try:
            _private_demo_secrets()
        except OSError as exc:
            print(f"edge demo: cannot chmod 600 {DEMO_SECRETS}: {exc}", file=sys.stderr)
            return 1
    workdir = Path(tempfile.mkdtemp(prefix="edge-demo-"))
    socket_path = workdir / "edge.sock"
    log_path = workdir / "daemon.log"
    cmd = [
        sys.executable,
        "-m",
        "edge",
        "run",
        "--config",
        str(config_path),
        "--socket",
        str(socket_path),
        "--state-dir",
        str(workdir / "state"),
    ]
    env = {**os.environ, "EDGE_SOCKET": str(socket_path)}
    with log_path.open("wb") as log:
        daemon = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            if not _wait_ready(socket_path, daemon, timeout_s=20.0):
                print(
                    f"edge demo: the daemon did not come up; its log:\n{log_path.read_text()}",
                    file=sys.stderr,
                )
                return 1
            print(f"edge demo: daemon pid {daemon.pid}, socket {socket_path}, log {log_path}")
            code = run_top(socket_path, duration_s=duration_s)
        except KeyboardInterrupt:
            code = 0
        finally:
            rc = _stop(daemon)
            print(f"edge demo: daemon stopped (exit {rc})")
            if not keep:
                shutil.rmtree(workdir, ignore_errors=True)
    return code if rc == 0 else 1
