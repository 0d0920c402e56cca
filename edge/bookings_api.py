"""The bookings owner on the local API (`edge bookings ...`).

`booking-add` and `booking-cancel` are for a technician when the cloud is down; the audit log
records who asked from the socket's peer credentials, not from anything the client says.
Times without an offset are the site's local time (`site.timezone`); stored times are UTC.
Bad input is answered `bad_params` (the CLI exits 2), never `internal`.
"""

from __future__ import annotations

from typing import Any

from edge.access.assignment import Change
from edge.access.bookings import Booking, BookingInvalid
from edge.availability_api import parse_time
from edge.booking_wire import from_wire, iso, to_wire
from edge.bookings_owner import BookingsOwner
from edge.local_api.protocol import ProtocolError
from edge.local_api.server import LocalApiServer, current_peer

ADD_FIELDS = ("id", "start", "end", "connector", "inlet_side")
CREDENTIALS = ("tractor_plate", "trailer_plate", "rfid_uid")


def row(owner: BookingsOwner, b: Booking) -> dict[str, Any]:
    return {**to_wire(b), "bay": owner.bay_of(b.id)}


def change_row(c: Change) -> dict[str, Any]:
    return {"from_bay": c.from_bay, "to_bay": c.to_bay, "reason": c.reason, "at": iso(c.at)}


def listing(owner: BookingsOwner) -> dict[str, Any]:
    return {
        "timezone": owner.config.timezone,
        "bookings": [row(owner, b) for b in owner.bookings()],
        "warnings": list(owner.warnings),
    }


def added(params: dict[str, Any], timezone: str) -> Booking:
    """The booking a technician typed in, as the cloud would send it (version 0)."""
    missing = [k for k in ADD_FIELDS if not isinstance(params.get(k), str)]
    if missing:
        raise ValueError(f"booking-add: needs {', '.join(missing)} (strings)")
    terms = params.get("terms") or {}
    if not isinstance(terms, dict):
        raise ValueError("booking-add: 'terms' is an object of seconds")
    wire = {
        "id": params["id"],
        "version": 0,
        "start": iso(parse_time(params["start"], timezone, "start")),
        "end": iso(parse_time(params["end"], timezone, "end")),
        "connector": params["connector"],
        "inlet_side": params["inlet_side"],
        "plot": params.get("plot"),
        "credentials": {k: params.get(k) for k in CREDENTIALS},
        "terms": terms,
    }
    return from_wire(wire)


def register(api: LocalApiServer, owner: BookingsOwner) -> None:
    def who() -> str:
        peer = current_peer()
        return peer.user if peer else "unknown"

    def booking_id(params: dict[str, Any], method: str) -> str:
        value = params.get("id")
        if not isinstance(value, str) or owner.get(value) is None:
            raise ProtocolError("bad_params", f"{method}: no booking {str(value)[:64]!r} here")
        return value

    async def show(params: dict[str, Any]) -> dict[str, Any]:
        bid = booking_id(params, "booking-show")
        booking = owner.get(bid)
        assert booking is not None  # checked by booking_id
        history = [change_row(c) for c in await owner.history(bid)]
        return {
            "timezone": owner.config.timezone,
            "booking": row(owner, booking),
            "history": history,
        }

    async def add(params: dict[str, Any]) -> dict[str, Any]:
        try:
            booking = added(params, owner.config.timezone)
            result = await owner.upsert(booking, by=who(), kind="booking-add")
        except (BookingInvalid, ValueError) as exc:
            raise ProtocolError("bad_params", str(exc)) from exc
        return {"outcome": result.outcome.value, "booking": row(owner, result.booking)}

    async def cancel(params: dict[str, Any]) -> dict[str, Any]:
        bid = booking_id(params, "booking-cancel")
        try:
            result = await owner.cancel(bid, by=who())
        except ValueError as exc:
            raise ProtocolError("bad_params", str(exc)) from exc
        return {"outcome": result.outcome.value, "booking": row(owner, result.booking)}

    api.register("bookings", lambda params: listing(owner))
    api.register("booking-show", show)
    api.register("booking-add", add)
    api.register("booking-cancel", cancel)
