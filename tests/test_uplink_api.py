"""The MQTT API description, its schemas, the command rules and the tail's checker (pure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from hypothesis import given
from hypothesis import strategies as st

from edge.uplink.api_schemas import check_message
from edge.uplink.cloud_tail import TailChecker
from edge.uplink.command_processor import CommandProcessor
from edge.uplink.commands import (
    MAX_COMMAND_BYTES,
    Command,
    CommandRegistry,
    Rejection,
    decide,
    load_schema,
    parse,
)
from edge.uplink.envelope import batch_json, record_json
from edge.uplink.policy import MsgClass

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "edge" / "uplink" / "schemas"


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref" and isinstance(v, str)] + [
            r for v in node.values() for r in refs(v)
        ]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_asyncapi_document_refers_to_real_schemas() -> None:
    doc = yaml.safe_load((ROOT / "docs" / "mqtt-api.yaml").read_text())
    assert doc["asyncapi"].startswith("3.")
    files = [r for r in refs(doc) if not r.startswith("#")]
    assert files
    for ref in files:
        assert (ROOT / "docs" / ref).resolve().exists(), ref
    for path in SCHEMAS.glob("*.json"):
        jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))


def registry() -> CommandRegistry:
    reg = CommandRegistry()

    async def nothing(args: dict[str, Any]) -> dict[str, Any]:
        return {}

    for name in ("ping", "set-log-level", "bay-availability"):
        reg.register(name, load_schema(f"cmd-{name}.json"), nothing)
    return reg


def test_command_parsing_rules() -> None:
    v = registry().validators
    ok = parse("ping", b'{"request_id": "a", "args": {}}', v)
    assert isinstance(ok, Command)
    assert ok.not_after is None
    cases = {
        b"x" * (MAX_COMMAND_BYTES + 1): "too_large",
        b"{nope": "bad_json",
        b"[]": "invalid",
        b'{"request_id": 5, "args": {}}': "invalid",
        b'{"request_id": "a"}': "invalid",
        b'{"request_id": "a", "args": {}, "not_after": "yesterday"}': "invalid",
        b'{"request_id": "a", "args": {}, "not_after": "2030-01-01T00:00:00"}': "invalid",
        b'{"request_id": "a", "args": {"x": 1}}': "invalid_args",
    }
    for payload, code in cases.items():
        got = parse("ping", payload, v)
        assert isinstance(got, Rejection)
        assert got.code == code, payload
    unknown = parse("reboot", b'{"request_id": "r", "args": {}}', v)
    assert isinstance(unknown, Rejection)
    assert unknown.code == "unknown_command"
    assert unknown.request_id == "r"
    no_reason = parse(
        "bay-availability", b'{"request_id": "a", "args": {"target": "B1", "available": false}}', v
    )
    assert isinstance(no_reason, Rejection)


def test_envelope_rejects_control_characters_bad_dates_and_huge_numbers() -> None:
    v = registry().validators
    bad_ids = ["a\n", "a\nb", "a\x00", "a\r", "\ta", "a b", "x" * 65, ""]
    for rid in bad_ids:
        got = parse("ping", json.dumps({"request_id": rid, "args": {}}).encode(), v)
        assert isinstance(got, Rejection), repr(rid)
        assert got.code == "invalid"
        assert got.request_id is None  # a malformed id is never echoed into a reply or log
        assert "request_id" in got.message
    off = {"target": "B1", "available": False, "reason": "r"}
    for when in ["whenever", "2030-01-01", "2030-13-01T00:00:00Z", "2030-01-01T00:00:00"]:
        payload = {"request_id": "a", "args": {**off, "expected_end": when}}
        got = parse("bay-availability", json.dumps(payload).encode(), v)
        assert isinstance(got, Rejection), when
        assert got.code == "invalid_args"
        assert "expected_end" in got.message
    fine = {"request_id": "a", "args": {**off, "expected_end": "2030-01-01T12:00:00.5+02:00"}}
    assert isinstance(parse("bay-availability", json.dumps(fine).encode(), v), Command)
    huge = b'{"request_id": "a", "args": {"level": "info", "area": [1, ' + b"9" * 4301 + b"]}}"
    got = parse("set-log-level", huge, v)
    assert isinstance(got, Rejection)
    assert got.code == "invalid"
    assert "args/area/1" in got.message
    assert "4300 digits" in got.message
    negative = b'{"request_id": "a", "args": {}, "n": -' + b"1" * 5000 + b"}"
    got = parse("ping", negative, v)
    assert isinstance(got, Rejection)
    assert "(at n)" in got.message


@given(st.binary(max_size=2000))
def test_no_payload_makes_parse_raise(payload: bytes) -> None:
    got = parse("ping", payload, registry().validators)
    assert isinstance(got, Command | Rejection)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=30,
    )
)
def test_no_json_value_makes_parse_raise(value: Any) -> None:
    got = parse("set-log-level", json.dumps(value).encode(), registry().validators)
    assert isinstance(got, Command | Rejection)


def test_decide_replay_before_expiry() -> None:
    cmd = Command("ping", "r", 100.0, {})
    assert decide(cmd, 50.0, None) is None
    expired = decide(cmd, 150.0, None)
    assert expired is not None
    assert expired.status == "expired"
    dup = decide(cmd, 150.0, "done")
    assert dup is not None
    assert dup.status == "duplicate"


def rec(stream: str, seq: int, msg_id: str | None = None) -> str:
    return record_json(
        site="s",
        stream=stream,
        seq=seq,
        boot_id="b",
        wall=1.8e9,
        cls=MsgClass.EVENT,
        payload={"alarm": "x", "active": True, "message": ""},
        msg_id=msg_id,
    )


def test_tail_checker_finds_gaps_duplicates_and_reorders() -> None:
    c = TailChecker()
    first = rec("events/alarm", 1, "a" * 32)
    assert [v for v, _ in c.feed_message(first.encode())] == ["ok"]
    assert [v for v, _ in c.feed_message(first.encode())] == ["duplicate"]
    assert [v for v, _ in c.feed_message(rec("events/alarm", 4).encode())] == ["gap:2"]
    assert [v for v, _ in c.feed_message(rec("events/alarm", 2).encode())] == ["reorder"]
    assert c.event_losses() == 2
    assert c.feed_message(b"garbage") == []
    assert c.malformed == 1


def test_published_shapes_match_the_schemas() -> None:
    assert check_message("p", "p/events/alarm", rec("events/alarm", 1).encode()) == []
    tele = record_json(
        site="s",
        stream="telemetry/health",
        seq=1,
        boot_id="b",
        wall=1.8e9,
        cls=MsgClass.TELEMETRY,
        payload={"devices": []},
    )
    assert (
        check_message(
            "p", "p/telemetry/health", batch_json("s", "telemetry/health", [tele]).encode()
        )
        == []
    )
    bad = json.dumps({"v": 1}).encode()
    assert check_message("p", "p/events/alarm", bad) != []


class MemoryStore:
    """The processor's CommandStore in memory; logs each step to check the order of
    persist -> ack -> reply."""

    def __init__(self, steps: list[str]) -> None:
        self.rows: dict[str, list[Any]] = {}
        self.replies: list[dict[str, Any]] = []
        self.steps = steps

    async def command_state(self, request_id: str) -> str | None:
        row = self.rows.get(request_id)
        return None if row is None else str(row[1])

    async def record_commands(self, rows: list[tuple[str, str, str, str, str | None]]) -> None:
        self.steps.append(f"record {len(rows)}")
        for rid, name, state, _result, reply in rows:
            self.rows[rid] = [name, state, reply, False]

    async def mark_all_replied(self, request_ids: list[str]) -> None:
        for rid in request_ids:
            self.rows[rid][3] = True

    async def unreplied(self) -> list[tuple[str, str, str, str | None]]:
        return [(k, r[0], r[1], r[2]) for k, r in self.rows.items() if not r[3]]

    async def accept(self, stream: str, payload: Any) -> str:
        self.steps.append(f"reply {payload['request_id']}")
        self.replies.append(payload)
        return "id"


async def test_a_batch_is_persisted_before_its_ack_and_answered_in_order() -> None:
    steps: list[str] = []
    store = MemoryStore(steps)
    processor = CommandProcessor(registry(), store, lambda: 1_800_000_000.0)
    batch = [
        ("ping", b'{"request_id": "a", "args": {}}'),
        ("ping", b'{"request_id": "a", "args": {}}'),  # a replay within the batch
        ("ping", b"{not json"),
        ("ping", b'{"request_id": "e", "not_after": "2001-01-01T00:00:00Z", "args": {}}'),
        ("ping", b'{"request_id": "b", "args": {}}'),
    ]
    await processor.handle_batch(
        [
            (name, payload, lambda n=n: steps.append(f"ack {n}"))
            for n, (name, payload) in enumerate(batch)
        ]
    )
    # Persisted (a, e, b) and the unrecordable refusals queued, then acknowledged; then run.
    assert steps.index("record 3") < steps.index("reply None") < steps.index("ack 0")
    assert steps.index("ack 4") < steps.index("reply b")
    got = [(r["request_id"], r["status"]) for r in store.replies]
    assert got == [
        ("a", "duplicate"),
        (None, "rejected"),
        ("a", "ok"),
        ("e", "expired"),
        ("b", "ok"),
    ]
    assert await store.unreplied() == []
    # A kill after the ack and before the replies: `recover` answers what was recorded.
    store.rows["k"] = ["ping", "received", None, False]
    store.rows["d"] = ["ping", "done", '{"request_id": "d", "status": "ok"}', False]
    assert await processor.recover() == 2
    assert [(r["request_id"], r.get("code")) for r in store.replies[-2:]] == [
        ("k", "interrupted"),
        ("d", None),
    ]
