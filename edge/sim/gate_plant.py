"""The demo's gate lanes as a plant behind the simulated I/O: a barrier drive per lane and
the trucks that drive through it, seen by the daemon only through the I/O points.

A barrier follows its command output (1: raise and hold up, 0: lower), taking `travel_s`
from one limit to the other; its limit switches read the position. Like a real drive's
certified safety inputs, it does not lower onto a vehicle: with something on the safety
loop or in the photocell beam while lowering, it goes back up. A truck arrives on the
arming loop (loop A), waits for the boom to be fully up, drives under it (both loops and
the beam for `UNDER_S`), clears loop A, then loop B, and is gone; if the boom stays down
for `patience_s` it backs away (turned away). One truck in a lane at a time; the next one
queues. Inputs read 1 when present (docs/config.md). No I/O here: the host steps it.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from edge.siteconf.model import GateLane, PointRef

log = logging.getLogger(__name__)

UNDER_S = 2.0  # the truck covers both loops and the beam this long
LEAVING_S = 1.5  # then loop B alone (the trailer) this long
TRAVEL_S = 3.0  # the boom from one limit to the other


class Stage(StrEnum):
    """Where a truck is in its lane."""

    WAITING = "waiting"  # on loop A, before the boom
    UNDER = "under"  # under the boom: loops A and B, the beam
    LEAVING = "leaving"  # loop B only
    IN = "in"  # through the lane
    TURNED_AWAY = "turned-away"  # the boom never rose: backed away


@dataclass
class SimTruck:
    plate: str
    vehicle: str  # the camera's class: electric-truck, truck, car...
    lane: str
    patience_s: float = 15.0
    stage: Stage = Stage.WAITING
    since: float = 0.0


Seen = Callable[[SimTruck], None]  # told when a truck reaches loop A, and when it is done


@dataclass
class SimLane:
    gate: GateLane
    travel_s: float = TRAVEL_S
    command: float = 0.0  # the barrier output as last written
    position: float = 0.0  # 0 down (closed limit), 1 up (open limit)
    queue: deque[SimTruck] = field(default_factory=deque)
    truck: SimTruck | None = None
    done: list[SimTruck] = field(default_factory=list)
    reversals: int = 0  # lowered onto something and went back up

    def sensors(self) -> dict[str, bool]:
        stage = self.truck.stage if self.truck else None
        return {
            "loop_a": stage in (Stage.WAITING, Stage.UNDER),
            "loop_b": stage in (Stage.UNDER, Stage.LEAVING),
            "photocell": stage is Stage.UNDER,
            "opened": self.position >= 1.0,
            "closed": self.position <= 0.0,
        }

    def step(self, now: float, dt: float, seen: Seen) -> None:
        self._drive(dt)
        if self.truck is None and self.queue:
            self.truck = self.queue.popleft()
            self.truck.since = now
            seen(self.truck)  # on loop A: the camera sees it now
        if self.truck is not None:
            self._move(self.truck, now, seen)

    def _drive(self, dt: float) -> None:
        s = self.sensors()
        up = self.command >= 0.5
        if not up and (s["loop_b"] or s["photocell"]) and self.position > 0.0:
            up = True  # the drive's safety input: never lower onto a vehicle
            self.reversals += int(self.position < 1.0)  # it had started down: reversed
        rate = dt / max(self.travel_s, 1e-3)
        self.position = min(1.0, self.position + rate) if up else max(0.0, self.position - rate)

    def _move(self, truck: SimTruck, now: float, seen: Seen) -> None:
        waited = now - truck.since
        if truck.stage is Stage.WAITING:
            if self.position >= 1.0:
                self._next(truck, Stage.UNDER, now, seen)
            elif waited >= truck.patience_s:
                self._next(truck, Stage.TURNED_AWAY, now, seen)
        elif truck.stage is Stage.UNDER and waited >= UNDER_S:
            self._next(truck, Stage.LEAVING, now, seen)
        elif truck.stage is Stage.LEAVING and waited >= LEAVING_S:
            self._next(truck, Stage.IN, now, seen)

    def _next(self, truck: SimTruck, stage: Stage, now: float, seen: Seen) -> None:
        truck.stage, truck.since = stage, now
        if stage in (Stage.IN, Stage.TURNED_AWAY):
            self.done.append(truck)
            self.truck = None
            seen(truck)
            log.info("sim_gate_truck lane=%s plate=%s vehicle=%s outcome=%s", self.gate.id,
                     truck.plate, truck.vehicle, stage.value)  # fmt: skip


# A lane's sensor name -> the GateLane field that names its input point.
_INPUTS = {
    "loop_a": "vehicle_sensor",
    "loop_b": "safety_loop",
    "photocell": "photocell",
    "opened": "position_open",
    "closed": "position_closed",
}


class GatePlant:
    """Every lane of the site; `model_for(device)` is the I/O unit's behaviour model."""

    def __init__(self, gates: tuple[GateLane, ...], travel_s: float = TRAVEL_S) -> None:
        self.lanes = {g.id: SimLane(g, travel_s) for g in gates}
        self.seen: Seen = lambda truck: None  # the arrivals' camera and exit scheduling
        self._last: float | None = None

    def arrive(self, truck: SimTruck) -> None:
        self.lanes[truck.lane].queue.append(truck)

    def step(self, now: float) -> None:
        dt = 0.0 if self._last is None else max(0.0, now - self._last)
        self._last = now
        for lane in self.lanes.values():
            lane.step(now, dt, self.seen)

    def outcomes(self) -> list[tuple[str, str, str]]:
        """(lane, plate, stage) of every truck through or turned away, in order per lane."""
        return [(n, t.plate, t.stage.value) for n, lane in self.lanes.items() for t in lane.done]

    def model_for(self, device: str) -> DeviceView | None:
        """The behaviour of I/O unit `device`, if a lane uses it."""
        used = any(
            ref is not None and ref.device == device
            for lane in self.lanes.values()
            for ref in (lane.gate.barrier_output, *_refs(lane.gate).values())
        )
        return DeviceView(self, device) if used else None


def _refs(gate: GateLane) -> dict[str, PointRef | None]:
    return {name: getattr(gate, attr) for name, attr in _INPUTS.items()}


class DeviceView:
    """One I/O unit's points as the plant shows them (a `WriteAwareModel`)."""

    def __init__(self, plant: GatePlant, device: str) -> None:
        self.plant, self.device = plant, device

    def values(self, wall: float) -> Mapping[str, float]:
        out: dict[str, float] = {}
        for lane in self.plant.lanes.values():
            sensors = lane.sensors()
            for name, ref in _refs(lane.gate).items():
                if ref is not None and ref.device == self.device:
                    out[ref.point] = max(out.get(ref.point, 0.0), float(sensors[name]))
        return out

    def on_write(self, point: str, value: float, wall: float) -> None:
        for lane in self.plant.lanes.values():
            ref = lane.gate.barrier_output
            if ref.device == self.device and ref.point == point:
                lane.command = value
