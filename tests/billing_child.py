"""A child process for the billing kill test: opens an outbox, starts a session through the
session log, waits for `committed()` and prints `STARTED <session_id>`, then sleeps until
killed (the session never ends).

    python -m tests.billing_child --state DIR
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.billing.session_log import SessionLog
from edge.chargers.port import BayStatus
from edge.readings import Grade
from edge.sessions import BayState
from edge.siteconf import load_site
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from tests.conftest import DEMO


async def main(state: Path) -> None:
    # A long commit window: only `committed()` can make the start durable before the kill.
    settings = OutboxSettings(state / "outbox.db", Budget(10**9, 10**7), commit_window_s=60.0)
    box = Outbox(settings, site="billing-hub", boot_id="kill")
    writer = asyncio.create_task(box.run())
    await box.ready.wait()
    log = SessionLog(load_site(DEMO), box.offer, commit=box.flush)
    log.observe(
        [BayStatus("B01", BayState.CHARGING, Grade.FRESH, 1e5, energy_delivered_wh=0.0)], 1.8e9
    )
    await log.committed()
    sys.stdout.write(f"STARTED {log.session_of('B01')}\n")
    sys.stdout.flush()
    await asyncio.sleep(3600)  # bounded; the test kills it long before
    writer.cancel()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--state", required=True)
    asyncio.run(main(Path(p.parse_args().state)))
