"""Site access in the daemon: the bookings owner, the gate ledger and the gate lanes.

Split from `edge/runtime.py`, which owns the lifecycle; this module only assembles and starts
the access parts in their order (bookings and the ledger before the lanes that read them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edge.gates.ledger_store import LedgerStore
from edge.gates.site_lanes import GateLanes
from edge.gates.store_audit import StoreAudit

if TYPE_CHECKING:
    from edge.runtime import Daemon


async def start_bookings(d: Daemon) -> None:
    """Bookings and the gate ledger (passback, spent QR nonces) from the local store."""
    await d.bookings.load()
    d.gate_ledger = LedgerStore(d.availability.store)
    await d.gate_ledger.load(d.clock.wall(), d.config.access.max_stay_h * 3600.0)
    d.supervisor.start("bookings", d.bookings.run)


def start_gates(d: Daemon) -> None:
    """The lanes over the fleet's I/O devices; a dead lane loop exits into the safe state."""
    devices = {dev.id: dev for dev in d.fleet.devices}
    view = d.availability.view
    d.gate_audit = StoreAudit(d.bookings)
    d.gates = GateLanes(
        d.config,
        d.image,
        d.clock,
        devices,
        lambda: view().unavailable_bays,
        bookings=d.bookings,
        audit=d.gate_audit,
        # the chargers' view as the owner has it; late-bound, the owner's hook may be rebound
        observed=lambda: d.bookings.occupancy(),  # noqa: PLW0108
    )
    if d.gate_ledger is not None:
        d.gate_ledger.attach(d.gates.decider)
    for name, job in d.gates.tasks():
        d.supervisor.start(name, job, vital=name == "gates")
    if d.sims is not None:  # the demo: simulated trucks at the gates (edge/sim/gate_arrivals.py)
        owner = d.bookings
        d.sims.start_arrivals(
            d.config, d.clock, lambda b: owner.upsert(b, by="sim"), d.gates.port_of
        )
