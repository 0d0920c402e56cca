"""The whole daemon on config/demo.toml (as `edge demo` runs it): simulated trucks arrive at
the gate, a booked one and an ad-hoc one are admitted and driven in under the simulated boom,
one not known to be electric is referred and turned away, and the booked truck's exit read
departs its booking. The barrier, loops, beam and limit switches are the simulated gate
plant behind the demo's Modbus I/O; the plates come to the ANPR endpoint over HTTP."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from edge.access.bookings import Phase
from edge.runtime import Daemon
from edge.siteconf import load_site
from edge.store import audit_rows
from hil_tests.conftest import REPO
from tests.polling import wait_until as until

pytestmark = pytest.mark.hil


def decisions(daemon: Daemon) -> list[dict[str, str]]:
    return list(daemon.gates.decider.recent) if daemon.gates else []


async def test_demo_trucks_admitted_refused_and_departed(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO, logger="edge")
    config = load_site(REPO / "config" / "demo.toml")
    config = replace(config, storage=replace(config.storage, state_dir=tmp_path / "state"))
    daemon = Daemon(config, socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        await until(lambda: daemon.gates is not None or runner.done(), 60, "gates built")
        assert daemon.sims is not None
        assert daemon.sims.live is not None
        plant = daemon.sims.live.gates

        def outcome(plate: str) -> str | None:
            return next((s for _, p, s in plant.outcomes() if p == plate), None)

        await until(lambda: outcome("1-BKD-001") == "in", 60, "booked truck driven in")
        await until(lambda: outcome("2-ADH-001") == "in", 60, "ad-hoc truck driven in")
        await until(lambda: outcome("3-DSL-001") == "turned-away", 60, "diesel turned away")
        booked = daemon.bookings.get("demo-001")
        assert booked is not None
        await until(
            lambda: daemon.bookings.get("demo-001").phase is Phase.DEPARTED,  # type: ignore[union-attr]
            60,
            "the booked truck's exit read departs its booking",
        )
        got = [(d["reason"], d["booking"]) for d in decisions(daemon)]
        assert ("Accepted", "demo-001") in got
        assert ("Accepted", "") in got  # the ad-hoc truck
        assert ("Referred", "") in got  # not known to be electric
        assert daemon.uplink is None  # the demo has no cloud link
        status = daemon.status()["gate"]["state"]
        assert "decisions: Accepted 2, Referred" in status, status  # referred once or twice
        entries = await audit_rows.read(daemon.bookings.store)
        assert {"admission", "exit", "admit", "depart"} <= {e.kind for e in entries}
        assert (await audit_rows.verify(daemon.bookings.store)).ok
        lanes = plant.lanes.values()
        assert all(lane.reversals == 0 for lane in lanes)  # never lowered onto a truck
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(runner, 20) == 0
    opened = [m for m in caplog.messages if "cmd=open" in m and "entry-main" in m]
    assert len(opened) == 2  # one open per admitted truck: the referred one got none
