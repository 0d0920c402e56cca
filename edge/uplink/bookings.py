"""Bookings on the wire: the `booking-upsert` and `booking-cancel` commands into the daemon's
owner (edge/bookings_owner.py), and its events out: `events/booking`, `events/assignment`,
`events/audit` and `events/admission` are stored with each change and relayed from the local
store into the outbox (edge/bookings_relay.py; events: never evicted).
"""

from __future__ import annotations

from typing import Any

from edge.access.bookings import Merge
from edge.booking_wire import from_wire, to_wire
from edge.bookings_owner import BookingsOwner
from edge.bookings_relay import EventRelay
from edge.clock import Clock
from edge.uplink.availability import expected_end
from edge.uplink.outbox import Outbox

BY = "cloud"


def reply(owner: BookingsOwner, result: Merge) -> dict[str, Any]:
    b = result.booking
    return {"outcome": result.outcome.value, "booking": to_wire(b), "bay": owner.bay_of(b.id)}


async def upsert(owner: BookingsOwner, args: dict[str, Any]) -> dict[str, Any]:
    """The `booking-upsert` handler (args checked by the schema; BookingInvalid is a
    ValueError: an error reply naming the field, nothing applied)."""
    result = await owner.upsert(from_wire(args), by=BY)
    return reply(owner, result)


async def cancel(owner: BookingsOwner, args: dict[str, Any]) -> dict[str, Any]:
    """The `booking-cancel` handler; an unknown booking is an error reply (KeyError)."""
    at = expected_end(args.get("updated_at"))
    result = await owner.cancel(str(args["id"]), by=BY, version=int(args["version"]), updated_at=at)
    return reply(owner, result)


def relay(owner: BookingsOwner, outbox: Outbox, clock: Clock) -> EventRelay:
    """The owner's events from the local store into this outbox (attached to the owner)."""
    owner.relay = EventRelay(owner.store, outbox.accept, outbox.offer, clock)
    return owner.relay


async def run_relay(owner: BookingsOwner, outbox: Outbox, relay: EventRelay) -> None:
    """Supervised: once the store and the outbox are open (the owner loads the store)."""
    await owner.loaded.wait()
    await outbox.ready.wait()
    await relay.run()
