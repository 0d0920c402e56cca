"""The plain data of a gate lane: its settings, inputs, state, events and commands.

Input convention, written once: every input reads True (1) when something is present or
active: a loop or photocell sees a vehicle, a limit switch is reached, the hold input is on,
a detector reports a fault. A loop detector set to fail-safe reads present when it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from edge.siteconf.model import GateLane


class IllegalEvent(RuntimeError):
    """An event the lane's state does not allow; the lane is unchanged."""


class GateState(StrEnum):
    IDLE = "idle"  # boom closed, no vehicle on loop A
    ARMED = "armed"  # a vehicle on loop A, waiting for a credential read
    IDENTIFYING = "identifying"  # a read arrived; the shell matches it to a booking
    DECIDING = "deciding"  # admission is deciding
    DENIED = "denied"  # refused; the driver leaves by the turn-around before the gate
    REFERRED = "referred"  # staff decides (intercom)
    OPENING = "opening"  # open requested, open limit not reached yet
    OPEN = "open"  # boom up, the admitted vehicle not yet on loop B
    PASSING = "passing"  # the admitted vehicle reached loop B; closes once it cleared it
    CLOSING = "closing"  # close requested, closed limit not reached yet
    HELD_OPEN = "held-open"  # fire brigade or manual hold input
    FAULT = "fault"  # exit lanes: held open; entry lanes: outputs off
    MAINTENANCE = "maintenance"  # a technician has the lane; outputs off


class EventKind(StrEnum):
    # sensor facts (legal in every state; `on` carries the new value)
    LOOP_A = "loop-a"  # arming loop before the boom
    LOOP_B = "loop-b"  # safety / closing loop under the boom
    PHOTOCELL = "photocell"
    OPENED = "opened"  # open limit switch
    CLOSED = "closed"  # closed limit switch
    HOLD = "hold"  # fire brigade / manual hold-open input
    DETECTOR_FAULT = "detector-fault"
    # logic events
    READ = "read"  # a credential read (plate, QR, RFID) reached the lane
    IDENTIFIED = "identified"  # the shell resolved the read(s)
    GRANT = "grant"
    DENY = "deny"
    REFER = "refer"
    OVERRIDE = "override"  # an operator's audited open; carries not_after
    TICK = "tick"  # time passed
    IO_LOST = "io-lost"
    IO_RESTORED = "io-restored"
    RESET = "reset"  # an operator clears a fault
    MAINTENANCE_ON = "maintenance-on"
    MAINTENANCE_OFF = "maintenance-off"


class Cmd(StrEnum):
    OUTPUTS_OFF = "outputs-off"
    OPEN = "open"  # a momentary pulse; never latched, never replayed
    CLOSE = "close"
    HOLD_OPEN = "hold-open"
    RELEASE_HOLD = "release-hold"
    IDENTIFY = "identify"  # ask the shell to resolve the reads
    DECIDE = "decide"  # ask the shell to run admission
    SHOW_DENIED = "show-denied"
    CALL_STAFF = "call-staff"
    ALARM = "alarm"
    NOTE = "note"  # audit only


@dataclass(frozen=True, slots=True)
class Command:
    kind: Cmd
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    on: bool = True  # for sensor events
    detail: str = ""  # reason text (deny, refer, override)
    not_after: float | None = None  # overrides: refused after this UTC time


@dataclass(frozen=True, slots=True)
class Sensors:
    loop_a: bool = False
    loop_b: bool = False
    photocell: bool = False
    opened: bool = False
    closed: bool = True
    hold: bool = False
    detector_fault: bool = False

    @property
    def presence(self) -> bool:
        """Something may be in the boom's path: a close must not be requested."""
        return self.loop_a or self.loop_b or self.photocell or self.detector_fault


@dataclass(frozen=True, slots=True)
class LaneConfig:
    lane: str
    exit: bool  # exit lanes fail open: a truck is never trapped inside
    run_time_s: float = 30.0  # a boom not at its limit after this is a fault
    clear_s: float = 1.0  # loop B clear this long = the vehicle passed (trailer gaps)
    pass_timeout_s: float = 60.0  # granted but nobody came: close (only when all clear)
    id_timeout_s: float = 20.0  # on loop A with no read: refer to staff
    decide_timeout_s: float = 5.0  # read but no decision: refer to staff

    @classmethod
    def of(cls, gate: GateLane, **timings: float) -> LaneConfig:
        """From the site model; a `both` lane counts as exit: it must let trucks out."""
        return cls(lane=gate.id, exit=gate.direction != "entry", **timings)


@dataclass(frozen=True, slots=True)
class Lane:
    config: LaneConfig
    state: GateState
    since: float  # when the state was entered (UTC s; timeouts measure from here)
    sensors: Sensors
    authorised: bool = False  # this open cycle was granted (or overridden)
    b_seen: bool = False  # the admitted vehicle reached loop B
    b_clear_at: float | None = None  # loop B went clear at (after b_seen)
    passed: bool = False  # loop B occupied then clear for clear_s: the vehicle is through
    tailgate: bool = False  # the alarm was raised this cycle
    reversals: int = 0  # times the drive reversed (its safety input) this cycle
    fault: str | None = None

    @classmethod
    def new(cls, config: LaneConfig, sensors: Sensors, now: float) -> Lane:
        """A lane record before `boot`."""
        return cls(config=config, state=GateState.IDLE, since=now, sensors=sensors)
