"""The gate lane machine, transition by transition (a table), and its safety rules as a story."""

from __future__ import annotations

from dataclasses import replace

import pytest

from edge.access.gate_machine import REACT, TABLE, boot, step
from edge.access.gate_types import (
    Cmd,
    Event,
    EventKind,
    GateState,
    IllegalEvent,
    Lane,
    LaneConfig,
    Sensors,
)
from edge.siteconf.model import GateLane, PointRef

S = GateState
E = EventKind
ENTRY = LaneConfig("in-1", exit=False, run_time_s=30, clear_s=1, pass_timeout_s=60)
EXIT = replace(ENTRY, lane="out-1", exit=True)
CLOSED = Sensors(closed=True)
OPEN_ = Sensors(opened=True, closed=False)


def lane(
    state: GateState, sensors: Sensors = CLOSED, cfg: LaneConfig = ENTRY, **kw: object
) -> Lane:
    return replace(Lane.new(cfg, sensors, 0.0), state=state, **kw)  # type: ignore[arg-type]


def ev(kind: EventKind, on: bool = True, **kw: object) -> Event:
    return Event(kind, on, **kw)  # type: ignore[arg-type]


A_ON = Sensors(loop_a=True, closed=True)
OPEN_A = replace(OPEN_, loop_a=True)
OPEN_B = replace(OPEN_, loop_b=True)
GRANTED = {"authorised": True}
PASSED_B = {"authorised": True, "b_seen": True, "b_clear_at": 10.0}

# (name, lane before, event, now, state after, command kinds)
ROWS: list[tuple[str, Lane, Event, float, GateState, tuple[Cmd, ...]]] = [
    ("idle: loop A arms", lane(S.IDLE), ev(E.LOOP_A), 1, S.ARMED, ()),
    ("idle: read w/o vehicle ignored", lane(S.IDLE), ev(E.READ), 1, S.IDLE, (Cmd.NOTE,)),
    ("idle: tick", lane(S.IDLE), ev(E.TICK), 99, S.IDLE, ()),
    (
        "idle: io lost, entry secure",
        lane(S.IDLE),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "idle: io lost, exit open",
        lane(S.IDLE, cfg=EXIT),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.HOLD_OPEN),
    ),
    ("idle: maintenance", lane(S.IDLE), ev(E.MAINTENANCE_ON), 1, S.MAINTENANCE, (Cmd.OUTPUTS_OFF,)),
    ("idle: override", lane(S.IDLE), ev(E.OVERRIDE, not_after=5.0), 1, S.OPENING, (Cmd.OPEN,)),
    ("idle: stale override", lane(S.IDLE), ev(E.OVERRIDE, not_after=5.0), 6, S.IDLE, (Cmd.NOTE,)),
    ("idle: hold", lane(S.IDLE), ev(E.HOLD), 1, S.HELD_OPEN, (Cmd.HOLD_OPEN,)),
    (
        "idle: detector fault",
        lane(S.IDLE),
        ev(E.DETECTOR_FAULT),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("armed: read", lane(S.ARMED, A_ON), ev(E.READ), 1, S.IDENTIFYING, (Cmd.IDENTIFY,)),
    ("armed: vehicle leaves", lane(S.ARMED, A_ON), ev(E.LOOP_A, False), 1, S.IDLE, ()),
    ("armed: no read in time", lane(S.ARMED, A_ON), ev(E.TICK), 20, S.REFERRED, (Cmd.CALL_STAFF,)),
    ("armed: tick early", lane(S.ARMED, A_ON), ev(E.TICK), 19, S.ARMED, ()),
    (
        "armed: override",
        lane(S.ARMED, A_ON),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    (
        "armed: maintenance",
        lane(S.ARMED, A_ON),
        ev(E.MAINTENANCE_ON),
        1,
        S.MAINTENANCE,
        (Cmd.OUTPUTS_OFF,),
    ),
    (
        "armed: io lost",
        lane(S.ARMED, A_ON),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "identifying: identified",
        lane(S.IDENTIFYING, A_ON),
        ev(E.IDENTIFIED),
        1,
        S.DECIDING,
        (Cmd.DECIDE,),
    ),
    ("identifying: more reads", lane(S.IDENTIFYING, A_ON), ev(E.READ), 1, S.IDENTIFYING, ()),
    (
        "identifying: timeout",
        lane(S.IDENTIFYING, A_ON),
        ev(E.TICK),
        5,
        S.REFERRED,
        (Cmd.CALL_STAFF,),
    ),
    ("identifying: leaves", lane(S.IDENTIFYING, A_ON), ev(E.LOOP_A, False), 1, S.IDLE, ()),
    (
        "identifying: override",
        lane(S.IDENTIFYING, A_ON),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    (
        "identifying: io lost",
        lane(S.IDENTIFYING, A_ON),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("deciding: grant", lane(S.DECIDING, A_ON), ev(E.GRANT), 1, S.OPENING, (Cmd.OPEN,)),
    ("deciding: deny", lane(S.DECIDING, A_ON), ev(E.DENY), 1, S.DENIED, (Cmd.SHOW_DENIED,)),
    ("deciding: refer", lane(S.DECIDING, A_ON), ev(E.REFER), 1, S.REFERRED, (Cmd.CALL_STAFF,)),
    ("deciding: read ignored", lane(S.DECIDING, A_ON), ev(E.READ), 1, S.DECIDING, ()),
    ("deciding: timeout", lane(S.DECIDING, A_ON), ev(E.TICK), 5, S.REFERRED, (Cmd.CALL_STAFF,)),
    ("deciding: leaves", lane(S.DECIDING, A_ON), ev(E.LOOP_A, False), 1, S.IDLE, ()),
    (
        "deciding: override",
        lane(S.DECIDING, A_ON),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    (
        "deciding: io lost",
        lane(S.DECIDING, A_ON),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "denied: second credential",
        lane(S.DENIED, A_ON),
        ev(E.READ),
        1,
        S.IDENTIFYING,
        (Cmd.IDENTIFY,),
    ),
    ("denied: turns away", lane(S.DENIED, A_ON), ev(E.LOOP_A, False), 1, S.IDLE, ()),
    (
        "denied: staff override",
        lane(S.DENIED, A_ON),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    ("denied: tick", lane(S.DENIED, A_ON), ev(E.TICK), 99, S.DENIED, ()),
    (
        "denied: maintenance",
        lane(S.DENIED, A_ON),
        ev(E.MAINTENANCE_ON),
        1,
        S.MAINTENANCE,
        (Cmd.OUTPUTS_OFF,),
    ),
    (
        "denied: io lost",
        lane(S.DENIED, A_ON),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("referred: read", lane(S.REFERRED, A_ON), ev(E.READ), 1, S.IDENTIFYING, (Cmd.IDENTIFY,)),
    ("referred: leaves", lane(S.REFERRED, A_ON), ev(E.LOOP_A, False), 1, S.IDLE, ()),
    (
        "referred: override",
        lane(S.REFERRED, A_ON),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    ("referred: tick", lane(S.REFERRED, A_ON), ev(E.TICK), 99, S.REFERRED, ()),
    (
        "referred: maintenance",
        lane(S.REFERRED, A_ON),
        ev(E.MAINTENANCE_ON),
        1,
        S.MAINTENANCE,
        (Cmd.OUTPUTS_OFF,),
    ),
    (
        "referred: io lost",
        lane(S.REFERRED, A_ON),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "opening: open limit",
        lane(S.OPENING, replace(A_ON, opened=True, closed=False), **GRANTED),
        ev(E.OPENED),
        1,
        S.OPEN,
        (),
    ),
    (
        "opening: run time exceeded",
        lane(S.OPENING, A_ON, **GRANTED),
        ev(E.TICK),
        30,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "opening: exit run time",
        lane(S.OPENING, A_ON, EXIT, **GRANTED),
        ev(E.TICK),
        30,
        S.FAULT,
        (Cmd.ALARM, Cmd.HOLD_OPEN),
    ),
    ("opening: tick in time", lane(S.OPENING, A_ON, **GRANTED), ev(E.TICK), 29, S.OPENING, ()),
    ("opening: read ignored", lane(S.OPENING, A_ON, **GRANTED), ev(E.READ), 1, S.OPENING, ()),
    (
        "opening: override no-op",
        lane(S.OPENING, A_ON, **GRANTED),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.NOTE,),
    ),
    (
        "opening: io lost",
        lane(S.OPENING, A_ON, **GRANTED),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("open: truck on B", lane(S.OPEN, OPEN_A, **GRANTED), ev(E.LOOP_B), 1, S.PASSING, ()),
    (
        "open: nobody came, clear",
        lane(S.OPEN, OPEN_, **GRANTED),
        ev(E.TICK),
        60,
        S.CLOSING,
        (Cmd.CLOSE,),
    ),
    ("open: nobody came, A busy", lane(S.OPEN, OPEN_A, **GRANTED), ev(E.TICK), 99, S.OPEN, ()),
    ("open: read ignored", lane(S.OPEN, OPEN_A, **GRANTED), ev(E.READ), 1, S.OPEN, ()),
    (
        "open: override no-op",
        lane(S.OPEN, OPEN_A, **GRANTED),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPEN,
        (Cmd.NOTE,),
    ),
    (
        "open: io lost",
        lane(S.OPEN, OPEN_A, **GRANTED),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "open w/o grant closes when clear",
        lane(S.OPEN, OPEN_A),
        ev(E.LOOP_A, False),
        1,
        S.CLOSING,
        (Cmd.CLOSE,),
    ),
    (
        "passing: B clears, wait clear_s",
        lane(S.PASSING, OPEN_B, **GRANTED, b_seen=True),
        ev(E.LOOP_B, False),
        10,
        S.PASSING,
        (),
    ),
    (
        "passing: clear for clear_s",
        lane(S.PASSING, OPEN_, **PASSED_B),
        ev(E.TICK),
        11,
        S.CLOSING,
        (Cmd.CLOSE,),
    ),
    (
        "passing: trailer gap re-covers B",
        lane(S.PASSING, OPEN_, **PASSED_B),
        ev(E.LOOP_B),
        10.5,
        S.PASSING,
        (),
    ),
    (
        "passing: photocell holds",
        lane(S.PASSING, replace(OPEN_, photocell=True), **PASSED_B),
        ev(E.TICK),
        20,
        S.PASSING,
        (),
    ),
    (
        "passing: tailgater on A",
        lane(S.PASSING, OPEN_, **PASSED_B, passed=True),
        ev(E.LOOP_A),
        12,
        S.PASSING,
        (Cmd.ALARM,),
    ),
    (
        "passing: second vehicle on B",
        lane(S.PASSING, OPEN_, **PASSED_B, passed=True),
        ev(E.LOOP_B),
        12,
        S.PASSING,
        (Cmd.ALARM,),
    ),
    ("passing: read ignored", lane(S.PASSING, OPEN_B, **GRANTED), ev(E.READ), 1, S.PASSING, ()),
    (
        "passing: override no-op",
        lane(S.PASSING, OPEN_B, **GRANTED),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.PASSING,
        (Cmd.NOTE,),
    ),
    (
        "passing: io lost",
        lane(S.PASSING, OPEN_B, **GRANTED),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("closing: closed limit", lane(S.CLOSING, CLOSED), ev(E.CLOSED), 1, S.IDLE, ()),
    ("closing: closed, next truck on A", lane(S.CLOSING, A_ON), ev(E.CLOSED), 1, S.ARMED, ()),
    (
        "closing: photocell alarms, drive reverses",
        lane(S.CLOSING, OPEN_),
        ev(E.PHOTOCELL),
        1,
        S.CLOSING,
        (Cmd.ALARM,),
    ),
    ("closing: B alarms", lane(S.CLOSING, OPEN_), ev(E.LOOP_B), 1, S.CLOSING, (Cmd.ALARM,)),
    (
        "closing: drive reversed twice",
        lane(S.CLOSING, Sensors(closed=False, loop_b=True), reversals=1),
        ev(E.OPENED),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "closing: A alone does not reopen",
        lane(S.CLOSING, Sensors(closed=False)),
        ev(E.LOOP_A),
        1,
        S.CLOSING,
        (),
    ),
    (
        "closing: drive reversed itself",
        lane(S.CLOSING, Sensors(closed=False, loop_a=True)),
        ev(E.OPENED),
        1,
        S.OPEN,
        (),
    ),
    (
        "closing: run time exceeded",
        lane(S.CLOSING, OPEN_),
        ev(E.TICK),
        30,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("closing: read ignored", lane(S.CLOSING, OPEN_), ev(E.READ), 1, S.CLOSING, ()),
    (
        "closing: override reopens",
        lane(S.CLOSING, OPEN_),
        ev(E.OVERRIDE, not_after=9.0),
        1,
        S.OPENING,
        (Cmd.OPEN,),
    ),
    (
        "closing: io lost",
        lane(S.CLOSING, OPEN_),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "held: release, clear, closed",
        lane(S.HELD_OPEN, CLOSED),
        ev(E.HOLD, False),
        1,
        S.IDLE,
        (Cmd.RELEASE_HOLD,),
    ),
    (
        "held: release, open, truck",
        lane(S.HELD_OPEN, OPEN_B),
        ev(E.HOLD, False),
        1,
        S.PASSING,
        (Cmd.RELEASE_HOLD,),
    ),
    (
        "held: release, open, clear",
        lane(S.HELD_OPEN, OPEN_),
        ev(E.HOLD, False),
        1,
        S.CLOSING,
        (Cmd.RELEASE_HOLD, Cmd.CLOSE),
    ),
    ("held: loops change nothing", lane(S.HELD_OPEN, OPEN_), ev(E.LOOP_A), 1, S.HELD_OPEN, ()),
    ("held: read ignored", lane(S.HELD_OPEN, OPEN_), ev(E.READ), 1, S.HELD_OPEN, ()),
    ("held: tick", lane(S.HELD_OPEN, OPEN_), ev(E.TICK), 99, S.HELD_OPEN, ()),
    (
        "held: io lost",
        lane(S.HELD_OPEN, OPEN_),
        ev(E.IO_LOST),
        1,
        S.FAULT,
        (Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    (
        "fault: reset, reconciled",
        lane(S.FAULT, CLOSED, fault="x"),
        ev(E.RESET),
        1,
        S.IDLE,
        (Cmd.OUTPUTS_OFF,),
    ),
    (
        "fault: io back after io fault",
        lane(S.FAULT, A_ON, fault="I/O link lost"),
        ev(E.IO_RESTORED),
        1,
        S.ARMED,
        (Cmd.OUTPUTS_OFF,),
    ),
    (
        "fault: io back, other fault",
        lane(S.FAULT, CLOSED, fault="x"),
        ev(E.IO_RESTORED),
        1,
        S.FAULT,
        (),
    ),
    (
        "fault: hold holds, stays fault",
        lane(S.FAULT, CLOSED, fault="x"),
        ev(E.HOLD),
        1,
        S.FAULT,
        (Cmd.HOLD_OPEN,),
    ),
    (
        "fault: exit keeps hold on release",
        lane(S.FAULT, OPEN_, EXIT, fault="x"),
        ev(E.HOLD, False),
        1,
        S.FAULT,
        (),
    ),
    (
        "fault: maintenance",
        lane(S.FAULT, CLOSED, fault="x"),
        ev(E.MAINTENANCE_ON),
        1,
        S.MAINTENANCE,
        (Cmd.OUTPUTS_OFF,),
    ),
    ("fault: read ignored", lane(S.FAULT, CLOSED, fault="x"), ev(E.READ), 1, S.FAULT, ()),
    ("fault: tick", lane(S.FAULT, CLOSED, fault="x"), ev(E.TICK), 99, S.FAULT, ()),
    ("fault: io lost again", lane(S.FAULT, CLOSED, fault="x"), ev(E.IO_LOST), 1, S.FAULT, ()),
    ("fault: loops recorded only", lane(S.FAULT, CLOSED, fault="x"), ev(E.LOOP_A), 1, S.FAULT, ()),
    (
        "maint.: end, boom open, clear",
        lane(S.MAINTENANCE, OPEN_),
        ev(E.MAINTENANCE_OFF),
        1,
        S.CLOSING,
        (Cmd.OUTPUTS_OFF, Cmd.CLOSE),
    ),
    (
        "maint.: end, both limits",
        lane(S.MAINTENANCE, Sensors(opened=True, closed=True)),
        ev(E.MAINTENANCE_OFF),
        1,
        S.FAULT,
        (Cmd.OUTPUTS_OFF, Cmd.ALARM, Cmd.OUTPUTS_OFF),
    ),
    ("maint.: hold ignored", lane(S.MAINTENANCE, CLOSED), ev(E.HOLD), 1, S.MAINTENANCE, ()),
    ("maint.: read ignored", lane(S.MAINTENANCE, CLOSED), ev(E.READ), 1, S.MAINTENANCE, ()),
    ("maint.: tick", lane(S.MAINTENANCE, CLOSED), ev(E.TICK), 1, S.MAINTENANCE, ()),
    ("maint.: io lost", lane(S.MAINTENANCE, CLOSED), ev(E.IO_LOST), 1, S.MAINTENANCE, ()),
]


@pytest.mark.parametrize(
    ("name", "before", "event", "now", "after", "kinds"), ROWS, ids=[r[0] for r in ROWS]
)
def test_transition(
    name: str, before: Lane, event: Event, now: float, after: GateState, kinds: tuple[Cmd, ...]
) -> None:
    got, commands = step(before, event, now)
    assert (got.state, tuple(c.kind for c in commands)) == (after, kinds)
    if Cmd.CLOSE in kinds:
        assert not got.sensors.presence


def test_every_table_entry_has_a_row() -> None:
    covered = {(r[1].state, r[2].kind) for r in ROWS}
    missing = [(s, k) for s, handlers in TABLE.items() for k in handlers if (s, k) not in covered]
    assert missing == []
    reacting = {
        r[1].state
        for r in ROWS
        if r[2].kind in (E.LOOP_A, E.LOOP_B, E.PHOTOCELL, E.OPENED, E.CLOSED)
    }
    assert set(REACT) <= reacting


ILLEGAL = [
    (s, k)
    for s in GateState
    for k in (
        E.GRANT,
        E.DENY,
        E.REFER,
        E.IDENTIFIED,
        E.RESET,
        E.MAINTENANCE_OFF,
        E.IO_RESTORED,
        E.OVERRIDE,
        E.MAINTENANCE_ON,
    )
    if k not in TABLE[s]
]


@pytest.mark.parametrize(("state", "kind"), ILLEGAL, ids=[f"{s}-{k}" for s, k in ILLEGAL])
def test_illegal_event_raises_and_changes_nothing(state: GateState, kind: EventKind) -> None:
    before = lane(state, A_ON)
    with pytest.raises(IllegalEvent, match=str(kind)):
        step(before, ev(kind, not_after=9.0), 1)
    assert before == lane(state, A_ON)


def test_a_stale_grant_after_the_truck_left_is_illegal() -> None:
    deciding = lane(S.DECIDING, A_ON)
    gone, _ = step(deciding, ev(E.LOOP_A, False), 1)
    with pytest.raises(IllegalEvent):
        step(gone, ev(E.GRANT), 2)


@pytest.mark.parametrize(
    ("sensors", "cfg", "state", "kinds"),
    [
        (CLOSED, ENTRY, S.IDLE, (Cmd.OUTPUTS_OFF,)),
        (A_ON, ENTRY, S.ARMED, (Cmd.OUTPUTS_OFF,)),  # a truck on the loop: no open replayed
        (OPEN_B, ENTRY, S.PASSING, (Cmd.OUTPUTS_OFF,)),  # truck under the boom: no close
        (OPEN_, ENTRY, S.CLOSING, (Cmd.OUTPUTS_OFF, Cmd.CLOSE)),
        (Sensors(closed=True, hold=True), ENTRY, S.HELD_OPEN, (Cmd.OUTPUTS_OFF, Cmd.HOLD_OPEN)),
        (
            Sensors(closed=True, detector_fault=True),
            EXIT,
            S.FAULT,
            (Cmd.OUTPUTS_OFF, Cmd.ALARM, Cmd.HOLD_OPEN),
        ),
    ],
)
def test_boot(sensors: Sensors, cfg: LaneConfig, state: GateState, kinds: tuple[Cmd, ...]) -> None:
    got, commands = boot(Lane.new(cfg, sensors, 0.0), 0.0)
    assert (got.state, tuple(c.kind for c in commands)) == (state, kinds)
    assert Cmd.OPEN not in kinds


def run(lane_: Lane, events: list[tuple[float, Event]]) -> tuple[Lane, list[Cmd]]:
    out: list[Cmd] = []
    for now, event in events:
        lane_, commands = step(lane_, event, now)
        out += [c.kind for c in commands]
    return lane_, out


def test_long_truck_over_both_loops_is_one_vehicle() -> None:
    start = lane(S.IDLE)
    end, cmds = run(
        start,
        [
            (0, ev(E.LOOP_A)),
            (1, ev(E.READ)),
            (1.1, ev(E.IDENTIFIED)),
            (1.2, ev(E.GRANT)),
            (3, ev(E.CLOSED, False)),
            (5, ev(E.OPENED)),
            (6, ev(E.LOOP_B)),  # cab reaches B
            (9, ev(E.LOOP_A, False)),
            (14, ev(E.LOOP_B, False)),
            (14.5, ev(E.TICK)),
            (15, ev(E.TICK)),
        ],
    )
    assert cmds == [Cmd.IDENTIFY, Cmd.DECIDE, Cmd.OPEN, Cmd.CLOSE]
    assert end.state is S.CLOSING
    assert not end.tailgate


def test_tailgater_alarms_and_no_close_until_everyone_is_clear() -> None:
    open_lane = lane(S.OPEN, OPEN_A, **GRANTED)
    end, cmds = run(
        open_lane,
        [
            (1, ev(E.LOOP_B)),
            (2, ev(E.LOOP_A, False)),
            (4, ev(E.LOOP_B, False)),
            (4.2, ev(E.LOOP_A)),
            (6, ev(E.TICK)),  # second vehicle on A after the first passed
            (7, ev(E.LOOP_B)),
            (8, ev(E.LOOP_A, False)),
            (9, ev(E.LOOP_B, False)),
            (10.5, ev(E.TICK)),
        ],
    )
    assert cmds == [Cmd.ALARM, Cmd.CLOSE]
    assert end.state is S.CLOSING


def test_from_gate_lane_config() -> None:
    gate = GateLane("x", "p1", "exit", PointRef("io", "o"), None, None, None)
    assert LaneConfig.of(gate, run_time_s=12).exit
    assert not LaneConfig.of(replace(gate, direction="entry")).exit
