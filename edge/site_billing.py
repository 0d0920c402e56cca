"""Billing in the daemon: the session log (edge/billing/) fed each control cycle with the
bay statuses, its records into the uplink's outbox (events: never evicted).

Split from `edge/runtime.py` like `edge/site_access.py`: only assembly. The OCPP endpoint
reaches the same log as `Daemon.session_log` and `claim`s its bays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.access.bookings import Phase
from edge.billing.session_log import SessionLog
from edge.billing.tracker import Context
from edge.chargers.port import BayStatus, ReportsBays

if TYPE_CHECKING:
    from edge.control_cycle import CycleResult
    from edge.power_control import PowerController
    from edge.runtime import Daemon

ON_BAY = (Phase.ON_BAY, Phase.CHARGING, Phase.OVERSTAY)


def make_session_log(d: Daemon) -> SessionLog:
    store = d.availability.store  # open sessions survive a restart
    if d.uplink is None:
        return SessionLog(d.config, context=lambda bay: context(d, bay), store=store)
    box = d.uplink.outbox
    return SessionLog(
        d.config, box.offer, context=lambda bay: context(d, bay), store=store, commit=box.flush
    )


def context(d: Daemon, bay: str) -> Context:
    """The booking whose truck is on the bay, and the session's kind from power sharing."""
    booking = next(
        (
            b.id
            for b in d.bookings.bookings()
            if b.phase in ON_BAY and d.bookings.bay_of(b.id) == bay
        ),
        None,
    )
    session = d.power.sessions.get(bay) if d.power is not None else None
    return Context(booking=booking, kind=session.kind.value if session is not None else None)


async def start_billing(d: Daemon, port: ReportsBays) -> None:
    """The sessions open before a restart, the task that stores their changes, and, after
    each completed control cycle, the bays' statuses that cycle read (from its frozen
    snapshot) into the session log. Before the control task starts."""
    log = d.session_log
    await log.load()
    d.supervisor.start("session-log", log.run)
    power = d.power
    if d.cycle is not None:
        d.cycle.observers.append(lambda r: log.observe(cycle_statuses(r, power, port), r.wall))


def cycle_statuses(
    result: CycleResult, power: PowerController | None, port: ReportsBays
) -> tuple[BayStatus, ...]:
    """The statuses the cycle's power step read from this snapshot (the port is not asked
    twice a cycle); the port's, from the same snapshot, on a cycle without power sharing."""
    if result.power is not None and power is not None:
        return power.statuses
    return port.states(result.snapshot)
