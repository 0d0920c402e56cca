"""Time from process start to READY=1, resident memory of the demo daemon after a minute,
its control cycle's duration (p50, p99) and its idle CPU (from `status` -> `control`).

Baselines measured in the same run: a bare interpreter, an interpreter that imports every
library the daemon can use, and one that imports only what the demo site uses (the daemon
imports per link type: no paho, python-can's bus layer, gpiozero or aiosqlite for the demo).
Run: `python -m bench.startup_footprint [--runs 5] [--settle 60]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hil_tests.daemon_process import DaemonProcess

REPO = Path(__file__).resolve().parents[1]
IMPORTS = (
    "import asyncio, pymodbus.client, paho.mqtt.client, can, aiosqlite, serial, gpiozero, "
    "jsonschema"
)

DEMO_IMPORTS = "import asyncio, pymodbus.client, pymodbus.server, cantools, jsonschema"


RSS_SELF = (
    "print([int(x.split()[1]) / 1024 for x in open('/proc/self/status') "
    "if x.startswith('VmRSS')][0])"
)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wall(cmd: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(cmd, check=True)
    return time.monotonic() - started


def time_to_ready() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        daemon = DaemonProcess(REPO / "config" / "demo.toml", Path(tmp))
        try:
            assert daemon.notify is not None
            ready = daemon.notify.wait_for("READY=1", timeout_s=30)
            if ready is None:
                raise RuntimeError(daemon.log())
            return ready - daemon.started_at
        finally:
            daemon.terminate()
            daemon.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=60.0, help="seconds before reading RSS")
    args = parser.parse_args()
    bare = [wall([sys.executable, "-c", "pass"]) for _ in range(args.runs)]
    imports = [wall([sys.executable, "-c", IMPORTS]) for _ in range(args.runs)]
    demo_imports = [wall([sys.executable, "-c", DEMO_IMPORTS]) for _ in range(args.runs)]
    ready = [time_to_ready() for _ in range(args.runs)]
    print(f"bare interpreter start      median {statistics.median(bare) * 1000:7.1f} ms")
    print(f"interpreter + library imports median {statistics.median(imports) * 1000:7.1f} ms")
    print(f"interpreter + demo's libraries median {statistics.median(demo_imports) * 1000:7.1f} ms")
    print(
        f"process start -> READY=1    median {statistics.median(ready) * 1000:7.1f} ms "
        f"[{min(ready) * 1000:.0f}-{max(ready) * 1000:.0f}] over {args.runs} runs "
        f"({statistics.median(ready) / statistics.median(imports):.1f}x the import baseline)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        daemon = DaemonProcess(REPO / "config" / "demo.toml", Path(tmp))
        try:
            daemon.wait_cycles(1)
            time.sleep(args.settle)
            status = daemon.call("status")
            baseline = subprocess.run(
                [sys.executable, "-c", IMPORTS + "\n" + RSS_SELF],
                check=True,
                capture_output=True,
                text=True,
            )
            base_mb = float(baseline.stdout)
            daemon_mb = rss_mb(daemon.proc.pid)
            print(
                f"demo daemon RSS after {args.settle:.0f} s: {daemon_mb:.1f} MB "
                f"({status['daemon']['cycles']} cycles, {status['daemon']['overruns']} overruns); "
                f"libraries imported alone: {base_mb:.1f} MB ({daemon_mb / base_mb:.2f}x)"
            )
            control = status.get("control", {})
            print(
                f"control cycle p50 {control.get('cycle_p50_ms')} ms, "
                f"p99 {control.get('cycle_p99_ms')} ms over {control.get('window')} cycles; "
                f"daemon CPU {control.get('cpu_percent')} % of one core"
            )
        finally:
            daemon.terminate()
            daemon.close()


if __name__ == "__main__":
    main()
