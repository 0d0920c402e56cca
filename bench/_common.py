"""Shared by the benchmarks: child processes (simulator, socat) started and always stopped."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def child(args: list[str], ready_prefix: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a child, wait (bounded) for its first line starting with `ready_prefix`."""
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=os.getcwd()
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        line = ""
        while time.monotonic() < deadline and not line.startswith(ready_prefix):
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {proc.returncode}")
        yield proc, line.strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def sim(*args: str) -> list[str]:
    return [sys.executable, "-m", "bench.sim_process", *args]


@contextlib.contextmanager
def socat_pair(folder: Path) -> Iterator[tuple[str, str]]:
    a, b = folder / "ttyA", folder / "ttyB"
    proc = subprocess.Popen(
        ["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not (a.exists() and b.exists()) and time.monotonic() < deadline:
            time.sleep(0.01)
        yield str(a), str(b)
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def summary(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "no samples"
    p = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return (
        f"median {statistics.median(values):.4g} p90 {p(0.9):.4g} p99 {p(0.99):.4g} "
        f"max {values[-1]:.4g} (n={len(values)})"
    )
