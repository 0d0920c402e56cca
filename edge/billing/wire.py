"""Billing records as JSON payloads (schemas: edge/uplink/schemas/session-event.json and
meter-values-event.json). Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from edge.billing.model import (
    MeterKind,
    MeterSample,
    MeterValues,
    Origin,
    Record,
    SessionEnded,
    SessionStarted,
    SignedValue,
)
from edge.billing.tracker import Open

SESSION_STREAM = "events/session"
METER_STREAM = "events/meter-values"


def iso(wall: float) -> str:
    return (
        datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def signed(value: SignedValue | None) -> dict[str, str] | None:
    if value is None:
        return None
    out = {"data": value.data}
    for key, text in (
        ("format", value.format),
        ("signing_method", value.signing_method),
        ("encoding_method", value.encoding_method),
        ("public_key", value.public_key),
    ):
        if text:
            out[key] = text
    return out


def sample(s: MeterSample) -> dict[str, Any]:
    return {
        "at": iso(s.at),
        "context": s.context,
        "energy_wh": s.energy_wh,
        "power_w": s.power_w,
        "soc_pct": s.soc_pct,
        "signed": signed(s.signed),
    }


def to_wire(record: Record) -> tuple[str, dict[str, Any]]:
    """The stream and payload of one billing record."""
    base: dict[str, Any] = {
        "session_id": record.session_id,
        "bay": record.bay,
        "charger": record.charger,
        "connector_id": record.connector_id,
        "transaction_id": record.transaction_id,
    }
    if isinstance(record, MeterValues):
        return METER_STREAM, base | {"samples": [sample(s) for s in record.samples]}
    common = base | {
        "origin": record.origin.value,
        "meter_kind": record.meter_kind.value,
        "meter_start_wh": record.meter_start_wh,
        "id_token": record.id_token,
        "booking": record.booking,
        "signed": signed(record.signed),
    }
    if isinstance(record, SessionEnded):
        return SESSION_STREAM, common | {
            "event": "ended",
            "started_at": iso(record.started_at),
            "at": iso(record.at),
            "meter_stop_wh": record.meter_stop_wh,
            "energy_wh": record.energy_wh,
            "reason": record.reason,
        }
    return SESSION_STREAM, common | {
        "event": "started",
        "at": iso(record.at),
        "kind": record.kind,
        "joined": record.joined,
    }


def open_text(current: Open) -> str:
    """An open session as the local store keeps it (epoch times, every field)."""
    s = current.start
    body = {
        "session_id": s.session_id,
        "bay": s.bay,
        "charger": s.charger,
        "connector_id": s.connector_id,
        "at": s.at,
        "meter_start_wh": s.meter_start_wh,
        "meter_kind": s.meter_kind.value,
        "origin": s.origin.value,
        "id_token": s.id_token,
        "booking": s.booking,
        "kind": s.kind,
        "transaction_id": s.transaction_id,
        "signed": signed(s.signed),
        "joined": s.joined,
        "last_sample_at": current.last_sample_at,
        "last_energy_wh": current.last_energy_wh,
    }
    return json.dumps(body, separators=(",", ":"))


def open_from(text: str) -> Open:
    d = json.loads(text)
    sig = d.get("signed")
    start = SessionStarted(
        d["session_id"],
        d["bay"],
        d["charger"],
        int(d["connector_id"]),
        float(d["at"]),
        d["meter_start_wh"],
        MeterKind(d["meter_kind"]),
        Origin(d["origin"]),
        id_token=d["id_token"],
        booking=d["booking"],
        kind=d["kind"],
        transaction_id=d["transaction_id"],
        signed=None if sig is None else SignedValue(**sig),
        joined=bool(d["joined"]),
    )
    return Open(start, float(d["last_sample_at"]), d["last_energy_wh"])
