"""One gate lane as a transition table: `step(lane, event, now) -> (lane, commands)`.

The certified barrier drive owns impact and entrapment protection (EN 12453); this machine only
*requests* open, close and hold, and never requests a close while a loop or photocell reports
presence (inputs read 1 = present; a detector fault reads as present). It closes only after the
admitted vehicle has occupied and then cleared the safety loop (loop B) for `clear_s`; a long
truck covering both loops is one vehicle; one grant admits one vehicle, a second one on loop B
(or on loop A once the first has passed) raises a tailgating alarm. A boom that does not reach
its limit within `run_time_s` is a fault. Software never opens for an obstruction under a
closing boom (that would let in whoever is under it): it alarms, and the drive's own safety input
reverses the boom; a second reversal in one cycle is a fault. `boot` turns outputs off and never
replays an open.
Exit lanes fail open (hold open), entry lanes fail secure (outputs off).

An event a state does not list is illegal: `step` raises IllegalEvent and the lane is unchanged
(house style: h11's `_state.py`). Sensor events are facts and are legal in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from edge.access.gate_types import (
    Cmd,
    Command,
    Event,
    EventKind,
    GateState,
    IllegalEvent,
    Lane,
)

Out = tuple[Lane, tuple[Command, ...]]
Handler = Callable[[Lane, Event, float], Out]
SENSOR_FIELDS = {
    EventKind.LOOP_A: "loop_a",
    EventKind.LOOP_B: "loop_b",
    EventKind.PHOTOCELL: "photocell",
    EventKind.OPENED: "opened",
    EventKind.CLOSED: "closed",
    EventKind.HOLD: "hold",
    EventKind.DETECTOR_FAULT: "detector_fault",
}


class Why(StrEnum):
    RUN_TIME = "no position change within run time"
    IO_LOST = "I/O link lost"
    DETECTOR = "loop detector fault"
    LIMITS = "both limit switches active"
    OBSTRUCTED = "obstructed twice in one cycle"


def cmd(kind: Cmd, detail: str = "") -> Command:
    return Command(kind, detail)


def boot(lane: Lane, now: float) -> Out:
    """After a (re)start: outputs off first, then the state the inputs show. No open replayed."""
    settled, commands = _reconcile(lane, now)
    return settled, (cmd(Cmd.OUTPUTS_OFF, "boot"), *commands)


def step(lane: Lane, event: Event, now: float) -> Out:
    """Apply one event; raise IllegalEvent (lane unchanged) if the state does not allow it."""
    if event.kind in SENSOR_FIELDS:
        return _sense(lane, event, now)
    handler = TABLE[lane.state].get(event.kind)
    if handler is None:
        raise IllegalEvent(f"gate {lane.config.lane}: {event.kind} not allowed in {lane.state}")
    return handler(lane, event, now)


# --- helpers -----------------------------------------------------------------------------


def _enter(lane: Lane, state: GateState, now: float, **changes: object) -> Lane:
    return replace(lane, state=state, since=now, **changes)  # type: ignore[arg-type]


def _reconcile(lane: Lane, now: float) -> Out:
    """The state the inputs show, with no grant: used at boot and after hold/fault/maintenance."""
    s = lane.sensors
    fresh = replace(lane, authorised=False, b_seen=False, b_clear_at=None, passed=False)
    fresh = replace(fresh, tailgate=False, reversals=0, fault=None)
    if s.hold:
        return _enter(fresh, GateState.HELD_OPEN, now), (cmd(Cmd.HOLD_OPEN, "hold input"),)
    if s.detector_fault:
        return _fault(fresh, Why.DETECTOR, now)
    if s.opened and s.closed:
        return _fault(fresh, Why.LIMITS, now)
    if s.closed:
        return _enter(fresh, GateState.ARMED if s.loop_a else GateState.IDLE, now), ()
    return _supervise(_enter(fresh, GateState.OPEN, now), now)  # open or stopped midway


def _fault(lane: Lane, why: Why, now: float) -> Out:
    safe = cmd(Cmd.HOLD_OPEN, "exit fails open") if lane.config.exit else cmd(Cmd.OUTPUTS_OFF)
    return _enter(lane, GateState.FAULT, now, fault=why.value), (cmd(Cmd.ALARM, why.value), safe)


def _sense(lane: Lane, event: Event, now: float) -> Out:
    sensors = replace(lane.sensors, **{SENSOR_FIELDS[event.kind]: event.on})
    lane = replace(lane, sensors=sensors)
    if event.kind is EventKind.HOLD:
        return _hold(lane, event.on, now)
    if lane.state in (GateState.FAULT, GateState.MAINTENANCE, GateState.HELD_OPEN):
        return lane, ()  # the facts are kept; nothing moves until reset/release
    if event.kind is EventKind.DETECTOR_FAULT and event.on:
        return _fault(lane, Why.DETECTOR, now)
    return REACT[lane.state](lane, event, now)


def _hold(lane: Lane, on: bool, now: float) -> Out:
    """Fire brigade / manual hold: overrides every state but maintenance."""
    if lane.state is GateState.MAINTENANCE:
        return lane, ()
    if lane.state is GateState.FAULT:  # hold, but stay faulted until an operator resets
        if on:
            return lane, (cmd(Cmd.HOLD_OPEN, "hold input"),)
        return lane, (() if lane.config.exit else (cmd(Cmd.RELEASE_HOLD),))
    if on:
        if lane.state is GateState.HELD_OPEN:
            return lane, ()
        return _enter(lane, GateState.HELD_OPEN, now), (cmd(Cmd.HOLD_OPEN, "hold input"),)
    if lane.state is not GateState.HELD_OPEN:
        return lane, ()
    settled, commands = _reconcile(lane, now)
    return settled, (cmd(Cmd.RELEASE_HOLD), *commands)


def _supervise(lane: Lane, now: float) -> Out:
    """OPEN/PASSING: track the vehicle over loop B; close only when it passed and all clear."""
    s = lane.sensors
    alarms: list[Command] = []
    if s.loop_b:
        if lane.passed:
            alarms += _tailgate(lane)
            lane = replace(lane, tailgate=True)
        lane = replace(lane, state=GateState.PASSING, b_seen=True, b_clear_at=None)
    elif lane.b_seen and not lane.passed:
        clear_at = lane.b_clear_at if lane.b_clear_at is not None else now
        lane = replace(lane, b_clear_at=clear_at, passed=now - clear_at >= lane.config.clear_s)
    if lane.passed and s.loop_a and not lane.tailgate:
        alarms += _tailgate(lane)  # loop A taken again after the vehicle passed under one grant
        lane = replace(lane, tailgate=True)
    if lane.sensors.presence:
        return lane, tuple(alarms)
    timed_out = now - lane.since >= lane.config.pass_timeout_s
    if lane.passed or not lane.authorised or (not lane.b_seen and timed_out):
        return _enter(lane, GateState.CLOSING, now), (*alarms, cmd(Cmd.CLOSE))
    return lane, tuple(alarms)


def _tailgate(lane: Lane) -> list[Command]:
    return [] if lane.tailgate else [cmd(Cmd.ALARM, "tailgating: second vehicle under one grant")]


def _open(lane: Lane, now: float, why: str) -> Out:
    lane = replace(lane, authorised=True, b_seen=False, b_clear_at=None, passed=False)
    return _enter(lane, GateState.OPENING, now, tailgate=False), (cmd(Cmd.OPEN, why),)


# --- reactions to sensor changes, per state ------------------------------------------------


def _r_idle(lane: Lane, event: Event, now: float) -> Out:
    if lane.sensors.loop_a and lane.sensors.closed:
        return _enter(lane, GateState.ARMED, now), ()
    return lane, ()


def _r_waiting(lane: Lane, event: Event, now: float) -> Out:
    """ARMED..DECIDING, DENIED, REFERRED: the vehicle leaving loop A ends the episode."""
    if not lane.sensors.loop_a:
        return _enter(lane, GateState.IDLE, now), ()
    return lane, ()


def _r_opening(lane: Lane, event: Event, now: float) -> Out:
    if lane.sensors.opened:
        return _supervise(_enter(lane, GateState.OPEN, now), now)
    if lane.sensors.loop_b:
        lane = replace(lane, b_seen=True)  # creeping under the rising boom
    return lane, ()


def _r_open(lane: Lane, event: Event, now: float) -> Out:
    return _supervise(lane, now)


def _r_closing(lane: Lane, event: Event, now: float) -> Out:
    """The drive's certified safety inputs stop and reverse a closing boom; software never
    sends OPEN for it (that would open for whoever is under the boom, without a grant)."""
    s = lane.sensors
    if event.on and event.kind in (EventKind.LOOP_B, EventKind.PHOTOCELL):
        return lane, (cmd(Cmd.ALARM, "obstruction under a closing boom"),)
    if event.kind is EventKind.OPENED and event.on:  # the drive reversed: back to open
        if lane.reversals >= 1:  # twice in one cycle: lock out and call staff
            return _fault(lane, Why.OBSTRUCTED, now)
        lane = replace(lane, reversals=lane.reversals + 1, authorised=False)
        return _supervise(_enter(lane, GateState.OPEN, now), now)
    if s.closed and not s.opened:
        nxt = GateState.ARMED if s.loop_a else GateState.IDLE
        return _enter(lane, nxt, now, authorised=False, reversals=0, tailgate=False), ()
    return lane, ()  # loop A alone: let it close; the next vehicle arms a new cycle


# --- logic events ---------------------------------------------------------------------------


def _read(lane: Lane, event: Event, now: float) -> Out:
    if lane.state is GateState.IDLE or not lane.sensors.loop_a:
        return lane, (cmd(Cmd.NOTE, "read ignored: no vehicle on loop A"),)
    if lane.state is GateState.IDENTIFYING:
        return lane, ()  # a further read of the same vehicle: the shell correlates it
    return _enter(lane, GateState.IDENTIFYING, now), (cmd(Cmd.IDENTIFY),)


def _identified(lane: Lane, event: Event, now: float) -> Out:
    return _enter(lane, GateState.DECIDING, now), (cmd(Cmd.DECIDE),)


def _grant(lane: Lane, event: Event, now: float) -> Out:
    return _open(lane, now, "grant")


def _deny(lane: Lane, event: Event, now: float) -> Out:
    return _enter(lane, GateState.DENIED, now), (cmd(Cmd.SHOW_DENIED, event.detail),)


def _refer(lane: Lane, event: Event, now: float) -> Out:
    return _enter(lane, GateState.REFERRED, now), (cmd(Cmd.CALL_STAFF, event.detail),)


def _override(lane: Lane, event: Event, now: float) -> Out:
    if event.not_after is None or now > event.not_after:
        return lane, (cmd(Cmd.NOTE, "override refused: expired or no expiry"),)
    if lane.state in (GateState.OPENING, GateState.OPEN, GateState.PASSING):
        return lane, (cmd(Cmd.NOTE, "override: already open"),)
    return _open(lane, now, f"override: {event.detail}")


def _tick(lane: Lane, event: Event, now: float) -> Out:
    age = now - lane.since
    cfg = lane.config
    state = lane.state
    if state is GateState.ARMED and age >= cfg.id_timeout_s:
        return _enter(lane, GateState.REFERRED, now), (cmd(Cmd.CALL_STAFF, "no credential read"),)
    if state in (GateState.IDENTIFYING, GateState.DECIDING) and age >= cfg.decide_timeout_s:
        return _enter(lane, GateState.REFERRED, now), (cmd(Cmd.CALL_STAFF, "no decision"),)
    if state in (GateState.OPENING, GateState.CLOSING) and age >= cfg.run_time_s:
        return _fault(lane, Why.RUN_TIME, now)
    if state in (GateState.OPEN, GateState.PASSING):
        return _supervise(lane, now)
    return lane, ()


def _io_lost(lane: Lane, event: Event, now: float) -> Out:
    return _fault(lane, Why.IO_LOST, now)


def _io_restored(lane: Lane, event: Event, now: float) -> Out:
    if lane.fault != Why.IO_LOST.value:
        return lane, ()  # other faults need an operator reset
    return boot(lane, now)


def _maintenance_on(lane: Lane, event: Event, now: float) -> Out:
    return _enter(lane, GateState.MAINTENANCE, now), (cmd(Cmd.OUTPUTS_OFF, "maintenance"),)


def _resume(lane: Lane, event: Event, now: float) -> Out:
    """Reset of a fault or end of maintenance: reconcile with the inputs, outputs off first."""
    return boot(lane, now)


def _ignore(lane: Lane, event: Event, now: float) -> Out:
    return lane, ()


_WAITING = {
    EventKind.OVERRIDE: _override,
    EventKind.MAINTENANCE_ON: _maintenance_on,
}
_ALWAYS = {EventKind.TICK: _tick, EventKind.IO_LOST: _io_lost}

TABLE: dict[GateState, dict[EventKind, Handler]] = {
    GateState.IDLE: {EventKind.READ: _read, **_WAITING, **_ALWAYS},
    GateState.ARMED: {EventKind.READ: _read, **_WAITING, **_ALWAYS},
    GateState.IDENTIFYING: {
        EventKind.READ: _read,
        EventKind.IDENTIFIED: _identified,
        EventKind.OVERRIDE: _override,
        **_ALWAYS,
    },
    GateState.DECIDING: {
        EventKind.READ: _ignore,
        EventKind.GRANT: _grant,
        EventKind.DENY: _deny,
        EventKind.REFER: _refer,
        EventKind.OVERRIDE: _override,
        **_ALWAYS,
    },
    GateState.DENIED: {EventKind.READ: _read, **_WAITING, **_ALWAYS},
    GateState.REFERRED: {EventKind.READ: _read, **_WAITING, **_ALWAYS},
    GateState.OPENING: {EventKind.READ: _ignore, EventKind.OVERRIDE: _override, **_ALWAYS},
    GateState.OPEN: {EventKind.READ: _ignore, EventKind.OVERRIDE: _override, **_ALWAYS},
    GateState.PASSING: {EventKind.READ: _ignore, EventKind.OVERRIDE: _override, **_ALWAYS},
    GateState.CLOSING: {EventKind.READ: _ignore, EventKind.OVERRIDE: _override, **_ALWAYS},
    GateState.HELD_OPEN: {EventKind.READ: _ignore, **_ALWAYS},
    GateState.FAULT: {
        EventKind.READ: _ignore,
        EventKind.TICK: _ignore,
        EventKind.IO_LOST: _ignore,
        EventKind.IO_RESTORED: _io_restored,
        EventKind.RESET: _resume,
        EventKind.MAINTENANCE_ON: _maintenance_on,
    },
    GateState.MAINTENANCE: {
        EventKind.READ: _ignore,
        EventKind.TICK: _ignore,
        EventKind.IO_LOST: _ignore,
        EventKind.MAINTENANCE_OFF: _resume,
    },
}

REACT: dict[GateState, Handler] = {
    GateState.IDLE: _r_idle,
    GateState.ARMED: _r_waiting,
    GateState.IDENTIFYING: _r_waiting,
    GateState.DECIDING: _r_waiting,
    GateState.DENIED: _r_waiting,
    GateState.REFERRED: _r_waiting,
    GateState.OPENING: _r_opening,
    GateState.OPEN: _r_open,
    GateState.PASSING: _r_open,
    GateState.CLOSING: _r_closing,
}
