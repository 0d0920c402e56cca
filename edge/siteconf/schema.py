"""JSON Schema of the site file: the structural rules (types, ranges, allowed words, keys).

Cross-references (a bay naming a charger that exists...) are checked in `cross_checks.py`;
this schema is what a reader of docs/config.md and an editor plug-in can use as is.
"""

from __future__ import annotations

from typing import Any

# Numbers are finite and integers 64-bit (edge/siteconf/values.py); every number has a
# maximum, so nothing overflows once converted (kW -> W, s -> ms).
ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}
MAX_KW = 100_000  # 100 MW: far above any hub, far below anything that overflows
KW = {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_KW}
KW0 = {"type": "number", "minimum": 0, "maximum": MAX_KW}
SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 86_400}
PATH = {"type": "string", "minLength": 1}
# An IANA zone name (`Europe/Brussels`); that it exists is checked in host_checks.py.
TIMEZONE = {"type": "string", "pattern": "^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+){0,2}$"}
SIM = {
    "model": {"enum": ["grid", "load", "pv", "wind", "cabinet", "gate"]},  # gate: sim/gate_plant.py
    "sunspec": {"enum": ["legacy", "ieee1547"]},
    "ocpp": {"enum": ["1.6", "2.0.1"]},  # a simulated charge point's version (sim/ocpp_host.py)
    **dict.fromkeys(("base_kw", "peak_kw", "pv_kw", "wind_kw", "rated_kw", "demand_kw"), KW0),
}
POINT_REF = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*:[A-Za-z0-9_]+$"}
# A local time of day, "HH:MM" (24 h).
CLOCK_TIME = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
MAX_CONNECTORS = 64  # connectors one charger device serves: far above any cabinet
LOG_LEVEL = {"enum": ["debug", "info", "warning", "error", "critical"]}
LINK_TYPES = ["modbus-tcp", "modbus-rtu", "can", "ocpp", "gpio", "simulated"]

GATE_TIMINGS = ("run_time_s", "clear_s", "pass_timeout_s", "id_timeout_s", "decide_timeout_s")
GATE_SECONDS = {"type": "number", "exclusiveMinimum": 0, "maximum": 3600}
# A listening address for a camera's HTTP posts: "127.0.0.1:8089" (host:port).
LISTEN = {"type": "string", "pattern": "^[A-Za-z0-9_.-]+:[0-9]{1,5}$"}

# The keys of an `ocpp` link besides host and port (docs/ocpp.md).
OCPP_LINK = {
    "cert_file": PATH,  # wss: the server certificate (PEM) and its key
    "key_file": PATH,
    "secrets_file": PATH,  # HTTP Basic passwords per charge point identity
    "heartbeat_s": {"type": "integer", "minimum": 10, "maximum": 86_400},
    "meter_values_s": {"type": "number", "minimum": 1, "maximum": 3600},
    "profile_threshold_kw": {"type": "number", "minimum": 0, "maximum": 50},
    "profile_min_interval_s": {"type": "number", "minimum": 0, "maximum": 60},
    "profile_validity_s": {"type": "integer", "minimum": 10, "maximum": 86_400},
    "max_message_kb": {"type": "integer", "minimum": 4, "maximum": 1024},
    "max_calls_per_s": {"type": "number", "minimum": 1, "maximum": 1000},
}

# A QR key id: the token's `kid`, a small integer written as a TOML key ("1").
QR_KEY_ID = {"type": "string", "pattern": "^[0-9]{1,9}$"}
# An Ed25519 public key: 32 bytes as 64 hex digits.
QR_PUBLIC_KEY = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}


def _table(required: list[str], props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": False,
    }


def _array_of(item: dict[str, Any], *, min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": min_items}


# One identification reader of a gate lane: serial QR/RFID readers name their port, ANPR
# cameras post JSON to `endpoint` (host:port) with the secret kept in `secret_file`.
READER = _table(
    ["id", "kind"],
    {
        "id": ID,
        "kind": {"enum": ["anpr", "qr", "rfid"]},
        "port": {"type": "string", "minLength": 1},
        "baud": {"type": "integer", "enum": [9600, 19200, 38400, 57600, 115200]},
        "endpoint": LISTEN,
        "secret_file": PATH,
    },
)

SITE_SCHEMA: dict[str, Any] = _table(
    ["site", "limits"],
    {
        "site": _table(
            ["id", "name"],
            {"id": ID, "name": {"type": "string", "minLength": 1}, "timezone": TIMEZONE},
        ),
        "control": _table(
            [],
            {
                "period_s": {"type": "number", "minimum": 0.05, "maximum": 60},
                "stale_after_s": SECONDS,
                "lost_after_s": SECONDS,
                "margin_kw": KW0,
                # 0: no plan (`edge/power/planner.py`); else a new plan this often (scipy)
                "plan_every_s": {"type": "number", "minimum": 0, "maximum": 3600},
            },
        ),
        "plots": _array_of(_table(["id"], {"id": ID, "name": {"type": "string"}})),
        "limits": _array_of(
            _table(
                ["id", "import_kw"],
                {
                    "id": ID,
                    "name": {"type": "string"},
                    "parent": ID,
                    "plot": ID,
                    "import_kw": KW,
                    "export_kw": KW0,
                    "fallback_kw": KW0,
                    "meter": ID,
                },
            ),
            min_items=1,
        ),
        "links": _array_of(
            _table(
                ["id", "type"],
                {
                    "id": ID,
                    "type": {"enum": LINK_TYPES},
                    "protocol": {"enum": ["modbus-tcp"]},
                    "host": {"type": "string", "minLength": 1},
                    "port": {"type": ["integer", "string"]},
                    "baud": {
                        "type": "integer",
                        "enum": [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200],
                    },
                    "parity": {"enum": ["N", "E", "O"]},
                    "stopbits": {"type": "integer", "enum": [1, 2]},
                    "channel": {"type": "string"},
                    "interface": {"type": "string"},
                    "bitrate": {"type": "integer", "minimum": 10000, "maximum": 1000000},
                    "timeout_s": {"type": "number", "minimum": 0.05, "maximum": 30},
                    "chip": {"type": "string"},
                    # ocpp: the endpoint charge points connect to (edge/ocpp/, docs/ocpp.md)
                    **OCPP_LINK,
                },
            )
        ),
        "devices": _array_of(
            _table(
                ["id", "kind", "link"],  # profile: required off OCPP links (device_checks)
                {
                    "id": ID,
                    "kind": {"enum": ["meter", "inverter", "charger", "io"]},
                    "profile": ID,
                    "link": ID,
                    "unit": {"type": "integer", "minimum": 0, "maximum": 247},
                    "role": {
                        "enum": ["grid", "plot-feeder", "pv", "wind", "load", "charger", "io"]
                    },
                    "poll_s": {"type": "number", "minimum": 0.05, "maximum": 3600},
                    "rated_kw": KW,
                    "sim": _table([], SIM),
                    # OCPP chargers only (ocpp_checks): the unit of their charging profiles
                    "rate_unit": {"enum": ["W", "A"]},
                    "max_voltage_v": {"type": "number", "minimum": 50, "maximum": 2000},
                },
            )
        ),
        "chargers": _array_of(
            _table(
                ["id", "limit", "max_power_kw"],
                {
                    "id": ID,
                    "limit": ID,
                    "max_power_kw": KW,
                    "min_power_kw": KW0,
                    "fallback_kw": KW0,
                    "device": ID,
                    "ramp_kw_s": KW,
                    "ramp_down_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                    "pause_kw": KW0,
                },
            )
        ),
        "bays": _array_of(
            _table(
                ["id", "plot", "charger", "connector", "max_power_kw", "inlet_sides"],
                {
                    "id": ID,
                    "plot": ID,
                    "charger": ID,
                    "connector": {"enum": ["CCS", "MCS"]},
                    "connector_id": {"type": "integer", "minimum": 1, "maximum": MAX_CONNECTORS},
                    "max_power_kw": KW,
                    "occupancy_sensor": POINT_REF,
                    "inlet_sides": {
                        "type": "array",
                        "items": {"enum": ["left", "right"]},
                        "minItems": 1,
                        "uniqueItems": True,
                    },
                },
            )
        ),
        "sessions": _table(
            [],
            {
                "break_dwell_min": {"type": "number", "exclusiveMinimum": 0, "maximum": 1440},
                "break_energy_kwh": {"type": "number", "minimum": 0, "maximum": 20_000},
                "overnight_dwell_h": {"type": "number", "exclusiveMinimum": 0, "maximum": 168},
                "overnight_energy_kwh": {"type": "number", "minimum": 0, "maximum": 20_000},
                "overnight_from": CLOCK_TIME,
                "overnight_until": CLOCK_TIME,
                "meter_values_every_s": {"type": "number", "minimum": 1, "maximum": 3600},
                "taper_from_pct": {"type": "number", "minimum": 50, "maximum": 99},
            },
        ),
        # Site access: the QR tokens' Ed25519 public keys by key id (public, so kept inline)
        # and the timings of the read screening (edge/access/entry.py EntryRules).
        "access": _table(
            [],
            {
                "qr_keys": {
                    "type": "object",
                    "propertyNames": QR_KEY_ID,
                    "additionalProperties": QR_PUBLIC_KEY,
                },
                "debounce_s": GATE_SECONDS,
                "max_read_age_s": GATE_SECONDS,
                "max_stay_h": {"type": "number", "exclusiveMinimum": 0, "maximum": 8760},
                # a lead under 1 min tells the driver nothing; over a day blocks bays for long
                "assign_lead_min": {"type": "number", "minimum": 1, "maximum": 1440},
                "keep_bookings_days": {"type": "number", "minimum": 1, "maximum": 3660},
                # what an ad-hoc truck that declares nothing may need (docs/access.md, 3)
                "ad_hoc_connectors": {
                    "type": "array",
                    "items": {"enum": ["CCS", "MCS"]},
                    "minItems": 1,
                    "uniqueItems": True,
                },
                # the bay held for an admitted ad-hoc truck: long enough to drive to it, short
                # enough that a truck that left without charging does not block it for long
                "ad_hoc_reserve_min": {"type": "number", "minimum": 1, "maximum": 120},
            },
        ),
        # Who may charge when the cloud cannot say (edge/auth/, docs/billing.md).
        "authorization": _table(
            [],
            {
                "local_pre_authorize": {"type": "boolean"},
                "offline_accept_known": {"type": "boolean"},
                "offline_accept_unknown": {"type": "boolean"},
                "request_timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
            },
        ),
        "gates": _array_of(
            _table(
                ["id", "plot", "barrier_output"],
                {
                    "id": ID,
                    "plot": ID,
                    "direction": {"enum": ["entry", "exit", "both"]},
                    "barrier_output": POINT_REF,
                    "vehicle_sensor": POINT_REF,
                    "safety_loop": POINT_REF,
                    "photocell": POINT_REF,
                    "position_open": POINT_REF,
                    "position_closed": POINT_REF,
                    "hold_input": POINT_REF,
                    "detector_fault": POINT_REF,
                    "reader_port": {"type": "string"},
                    "readers": _array_of(READER),
                    **dict.fromkeys(GATE_TIMINGS, GATE_SECONDS),
                },
            )
        ),
        "uplink": _table(
            [],
            {
                "enabled": {"type": "boolean"},
                "broker": {
                    "type": "string",
                    "pattern": "^mqtts?://[A-Za-z0-9_.-]+(:[0-9]{1,5})?/?$",
                },
                "client_id": {"type": "string", "minLength": 1, "maxLength": 128},
                "topic_prefix": {"type": "string", "pattern": "^[^#+]+$", "maxLength": 256},
                "mqtt_version": {"enum": ["5", "3.1.1"]},
                "keepalive_s": {"type": "integer", "minimum": 5, "maximum": 3600},
                "ca_file": PATH,
                "cert_file": PATH,
                "key_file": PATH,
                "snapshot_every_s": {"type": "number", "minimum": 1, "maximum": 3600},
                "max_inflight": {"type": "integer", "minimum": 1, "maximum": 100},
                "rate_limit_msg_s": {"type": "number", "minimum": 0, "maximum": 100_000},
                "telemetry_ttl_h": {"type": "number", "exclusiveMinimum": 0, "maximum": 87_600},
                # MQTT 5 Session Expiry Interval is a four-byte integer
                "session_expiry_s": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
            },
        ),
        "storage": _table(
            [],
            {
                "state_dir": PATH,
                "socket": PATH,
                "buffer_budget_mb": {"type": "number", "minimum": 1, "maximum": 1_000_000},
                "event_reserve_mb": {"type": "number", "minimum": 0, "maximum": 1_000_000},
            },
        ),
        "logging": _table(
            [],
            {
                "level": LOG_LEVEL,
                "areas": {"type": "object", "additionalProperties": LOG_LEVEL},
            },
        ),
    },
)
