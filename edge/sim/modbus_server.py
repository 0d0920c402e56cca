"""Simulated Modbus devices served over real Modbus TCP on 127.0.0.1, built from profiles.

The one module that uses pymodbus's server API. Each unit's registers are refreshed from its
model on every access, and faults can be injected per unit: silence (no reply, as a dead unit
on a real bus), a late reply, an exception reply, or frozen values. Units that do not exist
stay silent, as on a real bus.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.clock import Clock
from edge.drivers.codec import encode_value
from edge.drivers.profile import Profile, Table
from edge.sim.models import MeterModel

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Fault:
    silent: bool = False  # drop every reply
    delay_s: float = 0.0  # answer this late
    exception: int | None = None  # answer with this Modbus exception code
    frozen: bool = False  # keep returning the last values


@dataclass(slots=True)
class SimUnit:
    unit: int
    profile: Profile
    model: MeterModel
    fault: Fault = field(default_factory=Fault)
    reads: int = 0
    writes: list[tuple[int, list[int]]] = field(default_factory=list)


class SimModbusServer:
    def __init__(
        self, units: list[SimUnit], clock: Clock, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.units = {u.unit: u for u in units}
        self._clock = clock
        self._host, self._port = host, port
        self._server: ModbusTcpServer | None = None
        self.port = 0

    async def start(self) -> int:
        devices = [self._sim_device(u) for u in self.units.values()]
        # A catch-all unit keeps pymodbus from failing on unknown ids; its replies are dropped.
        devices.append(SimDevice(id=0, simdata=[SimData(0, datatype=DataType.INVALID)]))
        self._server = ModbusTcpServer(
            devices, address=(self._host, self._port), trace_packet=self._trace
        )
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self._port
        log.info(
            "sim_listening protocol=modbus-tcp host=%s port=%d units=%s",
            self._host,
            self.port,
            ",".join(str(u) for u in sorted(self.units)),
        )
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None

    def _trace(self, sending: bool, data: bytes) -> bytes:
        # MBAP header: unit id is byte 6. Replies for absent or silenced units are dropped.
        if sending and len(data) > 6:
            unit = self.units.get(data[6])
            if unit is None or unit.fault.silent:
                return b""
        return data

    def _sim_device(self, unit: SimUnit) -> SimDevice:
        regs = [p for p in unit.profile.points if p.table in (Table.HOLDING, Table.INPUT)]
        start = min(p.address for p in regs)
        end = max(p.address + p.words for p in regs)

        async def action(
            fc: int,
            block_start: int,
            address: int,
            count: int,
            registers: list[int],
            set_values: list[int] | list[bool] | None,
        ) -> ExcCodes | None:
            return await self._access(unit, block_start, registers, address, set_values)

        return SimDevice(
            id=unit.unit,
            simdata=[SimData(start, count=end - start, values=0, datatype=DataType.REGISTERS)],
            action=action,
        )

    async def _access(
        self,
        unit: SimUnit,
        block_start: int,
        registers: list[int],
        address: int,
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        if unit.fault.delay_s:
            await asyncio.sleep(unit.fault.delay_s)
        if unit.fault.exception is not None:
            return ExcCodes(unit.fault.exception)
        if set_values is not None:
            unit.writes.append((address, [int(v) for v in set_values]))
            return None
        unit.reads += 1
        if not unit.fault.frozen:
            values = unit.model.values(self._clock.wall())
            for point in unit.profile.points:
                if point.name in values and point.table in (Table.HOLDING, Table.INPUT):
                    offset = point.address - block_start
                    registers[offset : offset + point.words] = encode_value(
                        values[point.name], point
                    )
        return None
