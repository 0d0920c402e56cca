"""A simulated CAN power cabinet: the peer on the other end of a CAN channel (python-can's
virtual bus in unit tests, an slcan adapter on a socat pty in hil_tests).

It speaks the profile's DBC: it takes each connector's power limit (PowerLimit, PowerLimit2)
from command frames whose alive counter moves, reports status and output (connector 2 in
Connector2Status) every `period_s`, and falls back to its fallback power when commands
stop for `command_timeout_s`. Faults: silent (no frames), garbage (bytes
on the status id that do not decode), frozen (the same status for ever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from edge.clock import Clock
from edge.drivers.can_bus import CanBus, CanBusError, Frame
from edge.drivers.dbc import DbcError, MessageSet
from edge.sim.models import CabinetModel

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CanFault:
    silent: bool = False
    garbage: bool = False
    frozen: bool = False


@dataclass(slots=True)
class CabinetCanPeer:
    bus: CanBus
    dbc: MessageSet
    model: CabinetModel
    clock: Clock
    period_s: float = 0.1
    command_timeout_s: float = 1.0
    fault: CanFault = field(default_factory=CanFault)
    commands: list[float] = field(default_factory=list)  # accepted power limits, kW
    _last_counter: int | None = None
    _frozen: tuple[bytes, ...] | None = None

    def __post_init__(self) -> None:
        self.model.watchdog_s = self.command_timeout_s

    async def run(self) -> None:
        await self.bus.open()
        receiver = asyncio.create_task(self._receive())
        try:
            while True:
                await self._send_status()
                await self.clock.sleep(self.period_s)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, CanBusError):
                await receiver
            await self.bus.close()

    async def _receive(self) -> None:
        command = self.dbc.messages["CabinetCmd"]
        while True:
            frame: Frame = await self.bus.recv()
            if (frame.arbitration_id, frame.extended) != (command.frame_id, command.extended):
                continue
            try:
                signals = self.dbc.decode(frame.arbitration_id, frame.data)
            except DbcError:
                continue
            counter = int(signals["AliveCounter"])
            if counter == self._last_counter or not signals["Enable"]:
                continue  # a stuck counter is no command: the timeout keeps running
            self._last_counter = counter
            self.commands.append(signals["PowerLimit"])
            wall = self.clock.wall()
            self.model.on_write("power_setpoint_w", signals["PowerLimit"] * 1000.0, wall)
            if "PowerLimit2" in signals:  # connector 2's limit rides in the same frame
                self.model.on_write(
                    "connector_2_power_setpoint_w", signals["PowerLimit2"] * 1000.0, wall
                )

    async def _send_status(self) -> None:
        if self.fault.silent:
            return
        status, output = self.dbc.messages["CabinetStatus"], self.dbc.messages["CabinetOutput"]
        if self.fault.garbage:
            await self.bus.send(status.frame_id, b"\xff\x00", status.extended)  # wrong length
            return
        frames = self._frozen if self.fault.frozen and self._frozen else self._encode()
        self._frozen = frames
        await self.bus.send(status.frame_id, frames[0], status.extended)
        await self.bus.send(output.frame_id, frames[1], output.extended)
        second = self.dbc.messages.get("Connector2Status")
        if second is not None and len(frames) > 2:
            await self.bus.send(second.frame_id, frames[2], second.extended)

    def _encode(self) -> tuple[bytes, ...]:
        values = self.model.values(self.clock.wall())
        fallback = self.model.in_fallback(self.clock.wall())
        limit_w = self.model.fallback_w if fallback else values["power_setpoint_w"]
        status = self.dbc.encode(
            "CabinetStatus",
            {
                "ActualPower": values["power_w"] / 1000.0,
                "LimitActive": limit_w / 1000.0,
                "State": values["status"],
                "Temperature": 35.0,
            },
        )
        current = values["power_w"] / 800.0
        output = self.dbc.encode("CabinetOutput", {"Voltage": 800.0, "Current": current})
        if "Connector2Status" not in self.dbc.messages:
            return status, output
        second = self.dbc.encode(
            "Connector2Status",
            {
                "ActualPower2": values.get("connector_2_power_w", 0.0) / 1000.0,
                "LimitActive2": (
                    0.0 if fallback else values.get("connector_2_power_setpoint_w", 0.0)
                )
                / 1000.0,
                "State2": values.get("connector_2_status", values["status"]),
            },
        )
        return status, output, second
