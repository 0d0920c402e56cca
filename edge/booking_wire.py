"""Bookings as JSON objects: the `booking-upsert` command's args, `events/booking`, the local
API and the store's rows all use this one form (schema: uplink/schemas/cmd-booking-upsert.json).

Times are RFC 3339 with an offset (UTC on the way out); the pure record (edge/access/bookings.py)
holds UTC epoch seconds. `phase` and `phase_at` are the site's own: read back from the store,
ignored from the cloud (`bookings.merge` keeps the local phase).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edge.access.bookings import (
    Booking,
    BookingInvalid,
    BookingStatus,
    Credentials,
    Period,
    Phase,
    Terms,
    validate,
)
from edge.siteconf.model import Connector, InletSide

CREDENTIALS = ("tractor_plate", "trailer_plate", "qr_nonce", "rfid_uid")
TERMS = ("early_start_s", "noshow_timeout_s", "late_stop_s")


def iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_wire(b: Booking) -> dict[str, Any]:
    return {
        "id": b.id,
        "version": b.version,
        "start": iso(b.period.start),
        "end": iso(b.period.end),
        "connector": b.connector.value,
        "inlet_side": b.inlet_side.value,
        "plot": b.plot,
        "credentials": {k: getattr(b.credentials, k) for k in CREDENTIALS},
        "terms": {k: getattr(b.terms, k) for k in TERMS},
        "status": b.status.value,
        "phase": b.phase.value,
        "phase_at": iso(b.phase_at),
        "updated_at": iso(b.updated_at),
        "energy_wanted_wh": b.energy_wanted_wh,
    }


def from_wire(data: dict[str, Any]) -> Booking:
    """A validated Booking; BookingInvalid naming the field and the booking otherwise."""
    where = f"booking {str(data.get('id'))[:64]!r}"
    try:
        creds = data.get("credentials") or {}
        terms = data.get("terms") or {}
        booking = Booking(
            id=str(data["id"]),
            version=int(data["version"]),
            period=Period(_time(data, "start"), _time(data, "end")),
            connector=Connector(data["connector"]),
            inlet_side=InletSide(data["inlet_side"]),
            plot=None if data.get("plot") is None else str(data["plot"]),
            credentials=Credentials(**{k: _opt_str(creds.get(k)) for k in CREDENTIALS}),
            terms=Terms(**{k: float(terms[k]) for k in TERMS if k in terms}),
            status=BookingStatus(data.get("status", BookingStatus.RESERVED.value)),
            phase=Phase(data.get("phase", Phase.SCHEDULED.value)),
            phase_at=None if data.get("phase_at") is None else _time(data, "phase_at"),
            updated_at=0.0 if data.get("updated_at") is None else _time(data, "updated_at"),
            energy_wanted_wh=_opt_float(data.get("energy_wanted_wh")),
        )
    except KeyError as exc:
        raise BookingInvalid(f"{where}: {exc.args[0]} is required") from exc
    except (TypeError, ValueError, AttributeError) as exc:  # BookingInvalid included
        raise BookingInvalid(f"{where}: {exc}") from exc
    return validate(booking)


def _time(data: dict[str, Any], key: str) -> float:
    text = str(data[key])
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BookingInvalid(f"{key}: {text[:40]!r} is not an RFC 3339 date-time") from exc
    if at.tzinfo is None:
        raise BookingInvalid(f"{key}: {text[:40]!r} needs an offset (Z or +hh:mm)")
    return at.timestamp()


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
