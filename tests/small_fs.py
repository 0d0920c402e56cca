"""A size-limited tmpfs of a test's own (root only), for full and read-only disk tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "3m") -> Iterator[Path]:
    """Mount a tmpfs of `size` at `where` (created), unmounted at the end; skips without root."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a size-limited tmpfs")
    where.mkdir(exist_ok=True)
    done = mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def read_only(where: Path, ro: bool) -> None:
    done = mount("-o", f"remount,{'ro' if ro else 'rw'}", str(where))
    assert done.returncode == 0, done.stderr
