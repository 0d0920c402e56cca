"""`edge demo` over OCPP, as a real process: config/demo-ocpp.toml (on a free port) with its
two cabinets as simulated charge points, one OCPP 1.6J and one 2.0.1, on the demo's plant.
The trucks charge, their limits go out as TxProfiles and are what the charge points apply,
the grid meter stays under the site limit while the bays share it, `edge chargers` and
`edge bays` show it live, and Ctrl-C stops the demo and its daemon (exit 0)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import pytest

from edge.local_api.client import ApiError, DaemonUnreachable, LocalApiClient
from hil_tests.broker import free_port
from hil_tests.conftest import REPO
from hil_tests.overnight import overnight_all_day

pytestmark = pytest.mark.hil
T = TypeVar("T")
CONFIG = REPO / "config"
LIMIT_W = 600_000.0  # the demo's grid import_kw
THRESHOLD_W = 1_000.0  # the ocpp link's profile_threshold_kw (default): smaller moves not sent
SOCKET = re.compile(r"socket (\S+), log")


def demo_site(tmp_path: Path) -> Path:
    """The shipped demo with its OCPP endpoint on a free port, files alongside."""
    text = (CONFIG / "demo-ocpp.toml").read_text()
    assert "\nport = 9310\n" in text
    site = tmp_path / "demo-ocpp.toml"
    text = overnight_all_day(text)  # trucks that share, at any hour
    site.write_text(text.replace("\nport = 9310\n", f"\nport = {free_port()}\n"))
    for name in ("demo-ocpp.secrets", "demo-anpr.secret"):
        shutil.copyfile(CONFIG / name, tmp_path / name)
        (tmp_path / name).chmod(0o600)
    return site


@contextmanager
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """`edge demo --config` in its own session; (process, its output file). Stopped here
    whatever happens: Ctrl-C by the test, else the whole group killed."""
    out = tmp_path / "demo.out"
    cmd = [sys.executable, "-m", "edge", "demo", "--config", str(demo_site(tmp_path))]
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [*cmd, "--duration", "240"], stdout=sink, stderr=subprocess.STDOUT, cwd=REPO,
            start_new_session=True,
        )  # fmt: skip
        try:
            yield proc, out
        finally:
            if proc.poll() is None:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)  # the demo and its daemon
                proc.wait(timeout=10)


def poll(fetch: Callable[[], T], ok: Callable[[T], bool], timeout_s: float, what: str) -> T:
    """`fetch()` until `ok`, bounded; a daemon not answering yet counts as not ok."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        with suppress(DaemonUnreachable, ApiError, OSError):
            last = fetch()
            if ok(last):
                return last
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {timeout_s:.0f} s; last seen {last!r}")


def call(sock: Path, method: str) -> Any:
    with LocalApiClient(sock, timeout_s=5.0) as client:
        return client.call(method)


def charging(sock: Path) -> dict[str, dict[str, Any]]:
    """The bays charging now, with the limit their charge point applies (`limit_w`)."""
    limits = {c["bay"]: c for ch in call(sock, "chargers")["chargers"] for c in ch["connectors"]}
    return {
        b["id"]: {**b, "ocpp": limits[b["id"]]}
        for b in call(sock, "bays")["bays"]
        if b["state"] == "charging" and (b["power_w"] or 0) > 20_000
    }


def cli(sock: Path, *args: str) -> str:
    env = {**os.environ, "EDGE_SOCKET": str(sock)}
    done = subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, env=env,
        timeout=30, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.timeout(360)  # a bound: the sum of the steps' own bounds below
def test_the_ocpp_demo_charges_trucks_within_the_site_limit(tmp_path: Path) -> None:
    with demo(tmp_path) as (proc, out):
        found = poll(lambda: SOCKET.search(out.read_text()), bool, 30, "the demo's socket")
        assert found is not None
        sock = Path(found.group(1))

        chargers = poll(
            lambda: call(sock, "chargers")["chargers"],
            lambda rows: all(r["connected"] and r["standing_profile"] for r in rows),
            30,
            "both charge points booted, standing profiles set",
        )
        assert {r["identity"]: r["ocpp_version"] for r in chargers} == {
            "cabinet-1": "1.6",
            "cabinet-2": "2.0.1",
        }

        # trucks charge on both charge points, each under a TxProfile of its transaction
        now = poll(
            lambda: charging(sock),
            lambda bays: {b["charger"] for b in bays.values()} == {"ch01", "ch02"},
            90,
            "trucks charging on both charge points",
        )
        for bay in now.values():
            assert bay["ocpp"]["profile"] == "tx"
            assert bay["ocpp"]["transaction"]
        # the trucks' state of charge, from the SoC meter values of both OCPP versions
        poll(
            lambda: charging(sock),
            lambda bays: (
                {b["charger"] for b in bays.values() if b["soc_pct"] is not None}
                == {"ch01", "ch02"}
            ),
            30,
            "a charging truck's state of charge on each charge point",
        )

        # every charging bay seen with the charge point applying the controller's setpoint
        matched: set[str] = set()

        def match(bays: dict[str, dict[str, Any]]) -> bool:
            matched.update(
                b for b, v in bays.items()
                if abs(v["ocpp"]["limit_w"] - v["setpoint_w"]) <= THRESHOLD_W
            )  # fmt: skip
            return len(matched) >= 3

        poll(lambda: charging(sock), match, 60, "three bays' OCPP limits at their setpoints")

        # the bays share the grid: a limit node binds, and the grid meter stays under it
        poll(
            lambda: call(sock, "bays")["bays"],
            lambda bays: any(b["binding"].startswith("limit:") for b in bays),
            60,
            "the site limit binding the bays",
        )
        imports = []
        for _ in range(40):
            site = call(sock, "status")["site"]
            assert site["import_limit_w"] == LIMIT_W
            imports.append(site["import_w"])
            time.sleep(0.25)
        assert max(imports) <= LIMIT_W, imports
        assert max(imports) > 0.25 * LIMIT_W, imports  # the trucks are drawing: a real test

        rejected = [r["profiles_rejected"] for r in call(sock, "chargers")["chargers"]]
        assert rejected == [0, 0]

        shown = cli(sock, "chargers")
        for word in ("cabinet-1", " 1.6 ", "cabinet-2", " 2.0.1 ", "(tx)"):
            assert word in shown
        assert "charging" in cli(sock, "bays")

        proc.send_signal(signal.SIGINT)  # Ctrl-C: the demo stops its daemon
        assert proc.wait(timeout=40) == 0
    text = out.read_text()
    assert "daemon stopped (exit 0)" in text
    assert "Demo hub over OCPP (simulated)" in text
