"""Shared fixtures, and the test tiers as markers (pyproject.toml lists them).

Tiers: `unit` (data in, data out), `profile` (device profiles against golden words),
`peer` (an adapter against a real peer on 127.0.0.1: a pymodbus server, a socket, a virtual
CAN bus, gpiozero's MockFactory, a subprocess) and `hil` (hil_tests/: the whole daemon).
Each test in tests/ gets its file's tier here unless it carries a tier marker itself;
`pytest -m unit` is the quick run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "config" / "demo.toml"
HERE = Path(__file__).resolve().parent
TIERS = ("unit", "profile", "peer", "hil")
PROFILE_FILES = frozenset({"test_profiles_golden.py", "test_profile_format.py"})
PEER_FILES = frozenset(
    {
        "test_can.py",
        "test_chargers_port.py",
        "test_cli_devices.py",
        "test_fleet.py",
        "test_gate_anpr.py",
        "test_gate_cli.py",
        "test_gate_lane.py",
        "test_gate_readers.py",
        "test_gpio.py",
        "test_late_replies_tcp.py",
        "test_link_queue.py",
        "test_local_api.py",
        "test_ocpp_endpoint.py",
        "test_ocpp_bad_input.py",
        "test_runtime.py",
        "test_sunspec.py",
        "test_systemd_unit.py",
        "test_writes.py",
    }
)


def tier_of(path: Path) -> str:
    if path.name in PROFILE_FILES:
        return "profile"
    return "peer" if path.name in PEER_FILES else "unit"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.parent != HERE:
            continue  # hil_tests/conftest.py marks its own
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(tier_of(item.path))


@pytest.fixture
def demo_text() -> str:
    return DEMO.read_text()


@pytest.fixture
def write_site(tmp_path: Path):
    def write(text: str, name: str = "site.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
