"""The JSON Schemas of the MQTT API (edge/uplink/schemas/*.json), wired for validation.

docs/mqtt-api.yaml refers to the same files. `check_message` validates one published
message by its topic: the envelope (or batch) and the payload schema of its stream.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
from referencing import Registry, Resource

PAYLOADS = {
    "telemetry/site": "site-snapshot.json",
    "telemetry/health": "device-health.json",
    "telemetry/buffer": "buffer-stats.json",
    "events/alarm": "alarm.json",
    "events/booking": "booking-event.json",
    "events/assignment": "assignment-event.json",
    "events/audit": "audit-event.json",
    "events/admission": "admission-event.json",
    "events/session": "session-event.json",
    "events/meter-values": "meter-values-event.json",
    "state/bay-availability": "bay-availability.json",
    "cmd-reply": "cmd-reply.json",
}

REQUESTS = {"req/authorize": "authorize-request.json"}


@cache
def _registry() -> Registry:
    folder = resources.files("edge.uplink").joinpath("schemas")
    resources_ = []
    for item in folder.iterdir():
        if item.name.endswith(".json"):
            resources_.append((item.name, Resource.from_contents(json.loads(item.read_text()))))
    return Registry().with_resources(resources_)


@cache
def validator(name: str) -> jsonschema.Validator:
    schema = _registry().contents(name)
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def check_message(prefix: str, topic: str, payload: bytes) -> list[str]:
    """Problems with one message published under `prefix` (empty: valid)."""
    suffix = topic[len(prefix) + 1 :]
    if suffix.startswith("cmd/"):
        return []  # commands travel to the hub; the processor validates them
    try:
        data: Any = json.loads(payload)
    except ValueError as exc:
        return [f"{topic}: not JSON: {exc}"]
    if suffix == "status":
        return _errors("presence.json", data)
    if suffix in REQUESTS:  # hub -> cloud requests: no record envelope (never buffered)
        return _errors(REQUESTS[suffix], data)
    outer = "telemetry-batch.json" if suffix.startswith("telemetry/") else "record.json"
    problems = _errors(outer, data)
    records = data.get("records", []) if outer == "telemetry-batch.json" else [data]
    for record in records:
        if record.get("stream") != suffix:
            problems.append(f"record stream {record.get('stream')!r} on topic {topic}")
        if suffix in PAYLOADS:
            problems += _errors(PAYLOADS[suffix], record.get("payload"))
    return problems


def _errors(name: str, data: Any) -> list[str]:
    return [
        f"{name}: {e.message} at /{'/'.join(map(str, e.absolute_path))}"
        for e in validator(name).iter_errors(data)
    ]
