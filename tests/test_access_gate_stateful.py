"""The gate machine under random event sequences (hypothesis stateful testing).

Invariants, after every event: no close command while a loop or photocell reports presence,
ever; no open command except for a grant or a fresh operator override; an exit lane in fault
holds its barrier open (no truck is trapped); an illegal event raises and leaves the lane unchanged.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from edge.access.gate_machine import boot, step
from edge.access.gate_types import (
    Cmd,
    Command,
    Event,
    EventKind,
    GateState,
    IllegalEvent,
    Lane,
    LaneConfig,
    Sensors,
)

SENSORS = [
    EventKind.LOOP_A,
    EventKind.LOOP_B,
    EventKind.PHOTOCELL,
    EventKind.OPENED,
    EventKind.CLOSED,
    EventKind.HOLD,
    EventKind.DETECTOR_FAULT,
]
LOGIC = [
    EventKind.READ,
    EventKind.IDENTIFIED,
    EventKind.GRANT,
    EventKind.DENY,
    EventKind.REFER,
    EventKind.IO_LOST,
    EventKind.IO_RESTORED,
    EventKind.RESET,
    EventKind.MAINTENANCE_ON,
    EventKind.MAINTENANCE_OFF,
]


class GateLaneMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.lane: Lane | None = None
        self.now = 0.0
        self.holding = False  # the hold-open output as last commanded
        self.opens = 0
        self.closes = 0

    @initialize(
        exit_lane=st.booleans(),
        loop_a=st.booleans(),
        loop_b=st.booleans(),
        opened=st.booleans(),
        closed=st.booleans(),
    )
    def start(
        self, exit_lane: bool, loop_a: bool, loop_b: bool, opened: bool, closed: bool
    ) -> None:
        cfg = LaneConfig("L", exit=exit_lane, run_time_s=10, clear_s=1, pass_timeout_s=20)
        sensors = Sensors(loop_a=loop_a, loop_b=loop_b, opened=opened, closed=closed)
        lane, commands = boot(Lane.new(cfg, sensors, 0.0), 0.0)
        assert Cmd.OPEN not in [c.kind for c in commands]
        assert commands[0].kind is Cmd.OUTPUTS_OFF
        self.apply(lane, commands, None, GateState.IDLE)

    def apply(
        self, lane: Lane, commands: tuple[Command, ...], event: Event | None, before: GateState
    ) -> None:
        kinds = [c.kind for c in commands]
        if Cmd.CLOSE in kinds:
            self.closes += 1
            assert not lane.sensors.presence, f"close with presence: {lane.sensors}"
        if Cmd.OPEN in kinds:
            self.opens += 1
            assert event is not None
            assert event.kind in (EventKind.GRANT, EventKind.OVERRIDE), event
            if event.kind is EventKind.OVERRIDE:
                assert event.not_after is not None
                assert self.now <= event.not_after
        for k in kinds:
            if k is Cmd.HOLD_OPEN:
                self.holding = True
            elif k in (Cmd.RELEASE_HOLD, Cmd.OUTPUTS_OFF):
                self.holding = False
        self.lane = lane

    def fire(self, event: Event) -> None:
        assert self.lane is not None
        before = self.lane
        try:
            lane, commands = step(before, event, self.now)
        except IllegalEvent:
            assert self.lane == before
            return
        self.apply(lane, commands, event, before.state)

    @rule(kind=st.sampled_from(SENSORS), on=st.booleans())
    def sensor(self, kind: EventKind, on: bool) -> None:
        self.fire(Event(kind, on))

    @rule(kind=st.sampled_from(LOGIC))
    def logic(self, kind: EventKind) -> None:
        self.fire(Event(kind))

    @rule(ttl=st.floats(-5, 30))
    def override(self, ttl: float) -> None:
        self.fire(Event(EventKind.OVERRIDE, detail="test", not_after=self.now + ttl))

    @rule(dt=st.sampled_from([0.2, 0.6, 1.0, 5.0, 12.0, 25.0]))
    def tick(self, dt: float) -> None:
        self.now += dt
        self.fire(Event(EventKind.TICK))

    @rule(outcome=st.sampled_from([EventKind.GRANT, EventKind.DENY, EventKind.REFER]))
    def identified_truck(self, outcome: EventKind) -> None:
        """A truck arrives and is decided (makes the open paths frequent)."""
        for event in (Event(EventKind.LOOP_A), Event(EventKind.READ), Event(EventKind.IDENTIFIED)):
            self.fire(event)
        self.fire(Event(outcome))

    @rule()
    def truck_passes(self) -> None:
        """A plausible truck: onto A, under the boom onto B, off A, off B."""
        for kind, on in ((EventKind.LOOP_A, True), (EventKind.LOOP_B, True)):
            self.fire(Event(kind, on))
        self.now += 2
        for kind in (EventKind.LOOP_A, EventKind.LOOP_B):
            self.fire(Event(kind, False))

    @invariant()
    def exit_lane_in_fault_holds_open(self) -> None:
        lane = self.lane
        if lane is not None and lane.config.exit and lane.state is GateState.FAULT:
            assert self.holding, "exit lane faulted without holding the barrier open"


GateLaneMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=60, deadline=None
)
test_gate_lane_machine = GateLaneMachine.TestCase
