"""One gate lane's driver (shell): inputs from the process image into the pure machine
(`edge.access.gate_machine`), its commands out to the barrier output.

Inputs read 1 when present or active (docs/config.md). The barrier output is a level: 1 asks
the drive to open and stay open, 0 lets it close; every write is confirmed by the device's
read-back (`write_point` raises otherwise) and a failed write is an I/O fault. At start the
output is written 0 before anything else and the machine boots from the inputs, so an open
is never replayed. Without limit switches the confirmed output stands in for the position.

Several inputs changing in one snapshot are fed presence-on first, presence-off last, so the
machine never sees a moment with nothing present that did not exist.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from edge.access.entry import CredentialRead
from edge.access.gate_machine import SENSOR_FIELDS, boot, step
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
from edge.clock import Clock
from edge.gates.audit import Audit, LogAudit
from edge.readings import Snapshot
from edge.safe_state import WritesPoints
from edge.siteconf.model import GateLane

log = logging.getLogger(__name__)

OVERRIDE_VALID_S = 30.0  # an operator's open is refused if it reaches the lane later
WRITE_RETRY_S = 5.0  # after a refused write, the lane stays faulted this long before retrying
FIELD_KIND = {field: kind for kind, field in SENSOR_FIELDS.items()}
# Facts first that make the lane more careful (hold, fault, presence), then the rest.
ORDER = ("hold", "detector_fault", "loop_a", "loop_b", "photocell", "opened", "closed")
_LEVEL = {Cmd.OPEN: 1.0, Cmd.HOLD_OPEN: 1.0, Cmd.CLOSE: 0.0, Cmd.OUTPUTS_OFF: 0.0}


class Decides(Protocol):
    """Admission for the lane's reads (edge/gates/decide.py)."""

    def entry(self, gate: GateLane, read: CredentialRead, now: float) -> Event | None: ...
    def exit(self, gate: GateLane, read: CredentialRead, now: float) -> None: ...


def lane_config(gate: GateLane) -> LaneConfig:
    timings = ("run_time_s", "clear_s", "pass_timeout_s", "id_timeout_s", "decide_timeout_s")
    return LaneConfig.of(gate, **{t: getattr(gate, t) for t in timings})


class LaneDriver:
    def __init__(
        self,
        gate: GateLane,
        output: WritesPoints,
        clock: Clock,
        decider: Decides,
        audit: Audit | None = None,
    ) -> None:
        self.gate = gate
        self.config = lane_config(gate)
        self.output = output
        self.clock = clock
        self.decider = decider
        self.audit = audit or LogAudit()
        self.lane: Lane | None = None  # None until the inputs were read once after start
        self.output_level: float | None = None  # last confirmed write
        self.io_ok = True
        self.held_by: str | None = None  # an operator's hold-open (CLI), or-ed with the input
        self.hold_input = False  # the physical hold input, as last read
        self.retry_at = 0.0  # after a refused write, restore no earlier than this (wall)
        self._lock = asyncio.Lock()  # one event at a time: snapshots, reads, commands

    # --- inputs -------------------------------------------------------------------------

    def sensors(self, snap: Snapshot) -> Sensors | None:
        """The lane's inputs from a frozen snapshot; None if one is not usable."""
        values: dict[str, bool] = {}
        for name, ref in self.gate.inputs().items():
            points = snap.points.get(ref.device)
            reading = points.get(ref.point) if points is not None else None
            if reading is None or not reading.usable() or reading.value is None:
                return None
            values[name] = reading.value >= 0.5
        if "opened" not in values and "closed" not in values:
            values["opened"] = self.output_level == 1.0  # no limit switches wired
            values["closed"] = self.output_level != 1.0
        self.hold_input = values.get("hold", False)
        values["hold"] = self.hold_input or self.held_by is not None
        return Sensors(**values)

    async def start(self) -> None:
        """Outputs off before anything else, whatever the lane did before the restart."""
        async with self._lock:
            await self._perform((Command(Cmd.OUTPUTS_OFF, "start"),))

    async def on_snapshot(self, snap: Snapshot) -> None:
        async with self._lock:
            await self._on_snapshot(snap)

    async def _on_snapshot(self, snap: Snapshot) -> None:
        now = self.clock.wall()
        sensors = self.sensors(snap)
        if self.lane is None:
            if sensors is None:
                return  # not read yet; the output is off (started) and stays so
            self.lane, commands = boot(Lane.new(self.config, sensors, now), now)
            self._log_state("boot")
            await self._perform(commands)
        elif sensors is None:
            if self.io_ok:
                self.io_ok = False
                await self._event(Event(EventKind.IO_LOST), now)
            return
        elif not self.io_ok:
            if now < self.retry_at:
                return  # a refused write: retry later, not every snapshot (log flood)
            self.io_ok = True
            self.lane = replace(self.lane, sensors=sensors)  # the facts, then a fresh boot
            await self._event(Event(EventKind.IO_RESTORED), now)
        await self._sync(sensors, now)
        await self._event(Event(EventKind.TICK), now)
        await self._free_exit(now)

    async def _sync(self, sensors: Sensors, now: float) -> None:
        assert self.lane is not None
        changes = [
            (name, getattr(sensors, name))
            for name in ORDER
            if getattr(sensors, name) != getattr(self.lane.sensors, name)
        ]
        changes.sort(key=lambda c: not c[1])  # stable: presence-on before presence-off
        for name, on in changes:
            await self._event(Event(FIELD_KIND[name], on=on), now)

    # --- logic events ----------------------------------------------------------------------

    async def _free_exit(self, now: float) -> None:
        """Exit lanes never trap a truck: a vehicle on loop A is let out, read or not."""
        if not self.config.exit or self.lane is None or self.lane.state is not GateState.ARMED:
            return
        for event in (Event(EventKind.READ), Event(EventKind.IDENTIFIED)):
            await self._event(event, now)
        await self._event(Event(EventKind.GRANT, detail="free exit"), now)

    async def on_read(self, read: CredentialRead) -> None:
        async with self._lock:
            now = self.clock.wall()
            if self.config.exit:
                self.decider.exit(self.gate, read, now)  # clears the vehicle's IN state
                return
            waiting = (GateState.ARMED, GateState.DENIED, GateState.REFERRED)
            if self.lane is None or self.lane.state not in waiting:
                state = self.lane.state if self.lane else "booting"
                log.info(
                    "gate_read_ignored gate=%s reader=%s state=%s", self.gate.id, read.reader, state
                )
                return
            decision = self.decider.entry(self.gate, read, now)
            if decision is None:
                log.info("gate_read_dropped gate=%s reader=%s", self.gate.id, read.reader)
                return
            for event in (Event(EventKind.READ), Event(EventKind.IDENTIFIED), decision):
                await self._event(event, now)

    async def open(self, reason: str, who: str) -> str:
        """An operator's audited open. It opens only: the lane still closes only when the
        vehicle passed and nothing is present (no command overrides the presence rule)."""
        async with self._lock:
            now = self.clock.wall()
            self.audit.record("gate-open", gate=self.gate.id, reason=reason, who=who)
            detail = f"{reason} (by {who})"
            await self._event(
                Event(EventKind.OVERRIDE, detail=detail, not_after=now + OVERRIDE_VALID_S), now
            )
            return self.state()

    async def hold_open(self, reason: str, who: str) -> str:
        async with self._lock:
            self.audit.record("gate-hold-open", gate=self.gate.id, reason=reason, who=who)
            self.held_by = who
            if self.lane is not None:
                await self._sync(replace(self.lane.sensors, hold=True), self.clock.wall())
            return self.state()

    async def release(self, who: str) -> str:
        """End an operator's hold; the physical hold input, if on, still holds."""
        async with self._lock:
            self.audit.record("gate-release", gate=self.gate.id, who=who)
            self.held_by = None
            if self.lane is not None:
                sensors = replace(self.lane.sensors, hold=self.hold_input)
                await self._sync(sensors, self.clock.wall())
            return self.state()

    def state(self) -> str:
        return self.lane.state.value if self.lane else "booting"

    async def _event(self, event: Event, now: float) -> None:
        if self.lane is None:
            return
        before = self.lane.state
        try:
            self.lane, commands = step(self.lane, event, now)
        except IllegalEvent as exc:
            log.info("gate_event_refused gate=%s event=%s reason=%s", self.gate.id, event.kind, exc)
            return
        if self.lane.state is not before:
            self._log_state(event.kind.value)
        await self._perform(commands)

    # --- outputs ---------------------------------------------------------------------------

    async def _perform(self, commands: tuple[Command, ...]) -> None:
        for command in commands:
            level = _LEVEL.get(command.kind)
            if level is None:
                self._report(command)
                continue
            self.audit.record(
                "gate-command", gate=self.gate.id, cmd=command.kind.value, detail=command.detail
            )
            try:
                await self.output.write_point(self.gate.barrier_output.point, level)
            except Exception as exc:  # a failed write is an I/O fault, never a crash
                log.warning(
                    "gate_write_failed gate=%s output=%s value=%g error=%s",
                    self.gate.id, self.gate.barrier_output, level, exc,
                )  # fmt: skip
                self.output_level = None
                self.retry_at = self.clock.wall() + WRITE_RETRY_S
                if self.io_ok and self.lane is not None and self.lane.state is not GateState.FAULT:
                    self.io_ok = False
                    await self._event(Event(EventKind.IO_LOST), self.clock.wall())
                return
            self.output_level = level

    def _report(self, command: Command) -> None:
        level = logging.WARNING if command.kind in (Cmd.ALARM, Cmd.CALL_STAFF) else logging.INFO
        log.log(level, "gate_%s gate=%s detail=%s", command.kind.value.replace("-", "_"),
                self.gate.id, command.detail)  # fmt: skip

    def _log_state(self, cause: str) -> None:
        assert self.lane is not None
        log.info("gate_state gate=%s state=%s cause=%s fault=%s", self.gate.id,
                 self.lane.state, cause, self.lane.fault)  # fmt: skip

    def status(self) -> dict[str, Any]:
        lane = self.lane
        return {
            "lane": self.gate.id,
            "direction": self.gate.direction,
            "state": self.state(),
            "fault": lane.fault if lane else None,
            "output": self.output_level,
            "held_by": self.held_by,
            "io_ok": self.io_ok,
            "sensors": _fields(lane.sensors) if lane else None,
        }


def _fields(sensors: Sensors) -> Mapping[str, bool]:
    return {name: getattr(sensors, name) for name in ORDER}
