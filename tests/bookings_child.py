"""A child process for the bookings relay's crash test: the bookings owner over a local
store, its relay into a real outbox, and a stream of changes until killed. It prints
`READY` once running and `U <n>` after each upsert returned (stored, not yet relayed).

    python -m tests.bookings_child --state DIR
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from edge.access.bookings import Booking, Credentials, Period, Terms
from edge.availability_owner import AvailabilityOwner
from edge.bookings_owner import BookingsOwner
from edge.clock import SimClock
from edge.siteconf import load_site
from edge.siteconf.model import Connector, InletSide
from edge.store import LocalStore
from edge.uplink import bookings as bookings_uplink
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from tests.conftest import DEMO


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def booking(i: int, now: float) -> Booking:
    start = now + 600 + 60 * (i % 20)  # due soon: assignments and their events too
    return Booking(
        f"bk-{i % 7}",
        i,
        Period(start, start + 3600),
        Connector.CCS,
        InletSide.LEFT,
        "main",
        Credentials(tractor_plate=f"AB{i % 7}CD"),
        Terms(noshow_timeout_s=900),
        updated_at=now,
    )


async def main(state: Path) -> None:
    config = load_site(DEMO)
    config = replace(config, storage=replace(config.storage, state_dir=state))
    clock = SimClock()
    store = LocalStore(state / "site.db", wall=clock.wall)
    availability = AvailabilityOwner(config, clock, store)
    await availability.load()
    owner = BookingsOwner(availability, clock)
    await owner.load()
    settings = OutboxSettings(state / "outbox.db", Budget(10**9, 10**7), commit_window_s=0.01)
    outbox = Outbox(settings, site="relay-hub", boot_id="child")
    relay = bookings_uplink.relay(owner, outbox, clock)
    tasks = [asyncio.create_task(outbox.run()), asyncio.create_task(relay.run())]
    await outbox.ready.wait()
    say("READY")
    for i in range(1, 100_000):  # bounded; the test kills it long before
        await owner.upsert(booking(i, clock.wall()), by="cloud")
        if i % 3 == 0:
            await owner.tick()  # assignment changes
        say(f"U {i}")
    for task in tasks:
        task.cancel()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--state", type=Path, required=True)
    asyncio.run(main(p.parse_args().state))
