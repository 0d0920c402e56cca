"""Shared bench helpers: a broker of the bench's own and an outbox in a temp dir."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from hil_tests.broker import Broker

PAYLOAD = {
    "bay": "B07",
    "energy_wh": 123456.7,
    "power_w": 350000.0,
    "session": "S-0001-xyz",
    "meter": {"voltage_v": 812.4, "current_a": 430.1},
    "note": "x" * 40,
}


@contextmanager
def broker() -> Iterator[Broker]:
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        b = Broker(Path(tmp) / "broker")
        b.extra = "persistence false"
        b.start()
        try:
            yield b
        finally:
            b.stop()


def outbox(folder: Path, *, window_s: float = 0.05) -> Outbox:
    settings = OutboxSettings(folder / "outbox.db", Budget(10**10, 10**8), commit_window_s=window_s)
    return Outbox(settings, site="bench-hub", boot_id="bench")
