from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil_tests.daemon_process import DaemonProcess

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(REPO / "config" / "demo.toml", tmp_path)
    try:
        yield daemon
    finally:
        daemon.close()
