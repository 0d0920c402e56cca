"""Simulated Modbus devices served over real Modbus TCP (127.0.0.1) or RTU (a serial port or a
socat pty), built from profiles. The one module that uses pymodbus's server API.

Each unit's image is refreshed from its model on every read, and faults are injected per
unit (see `Fault`). Units that do not exist stay silent, as on a real bus.

pymodbus 3.16's server stamps every reply with the unit id and transaction id of the *newest*
request on the connection, so a deliberately late reply would carry another request's ids,
which no real device does. `realistic_ids=True` (the default) restores each reply's own ids;
`False` keeps the library's behaviour, the worst case a misbehaving gateway can produce.

The ids travel with the request in context variables, never in the server object: pymodbus
decodes a request in its connection's data callback (where `_trace_pdu` sees it) and answers
it in a task created from there, which copies that context. A server-wide "newest request"
gave one connection's reply the ids of a request that came in on another meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import random

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.pdu import ModbusPDU
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge.clock import Clock
from edge.drivers.modbus_profile import Table
from edge.sim.sim_unit import Fault, ServedUnit, SimUnit

__all__ = ["Fault", "SimModbusServer", "SimSerialServer", "SimUnit"]

log = logging.getLogger(__name__)

_TABLE_OF_FC = {1: Table.COIL, 5: Table.COIL, 15: Table.COIL, 2: Table.DISCRETE}
_TABLE_OF_FC |= {3: Table.HOLDING, 6: Table.HOLDING, 16: Table.HOLDING, 4: Table.INPUT}
_TUPLE_ORDER = (Table.COIL, Table.DISCRETE, Table.HOLDING, Table.INPUT)  # pymodbus's order
_PLACEHOLDER = 0xFFF0  # an address no profile uses, for tables a unit does not have

Ids = tuple[int, int]  # (unit, transaction id) of a request
# The request a connection decoded last (set in its data callback's context) and the one
# the current reply answers (set in the answering task's context); see the module's doc.
_RECEIVED: contextvars.ContextVar[Ids | None] = contextvars.ContextVar("received", default=None)
_ANSWERING: contextvars.ContextVar[Ids | None] = contextvars.ContextVar("answering", default=None)


class _Image:
    """Writes words into pymodbus's live register lists for one table of one unit."""

    def __init__(self, table: Table, block_start: int, registers: list[int]) -> None:
        self.table, self.block_start, self.registers = table, block_start, registers

    def put(self, table: Table, address: int, words: list[int]) -> None:
        if table is not self.table:
            return  # another table's list: reached through that table's own accesses
        if table.is_register:
            offset = address - self.block_start
            self.registers[offset : offset + len(words)] = words
            return
        for i, bit in enumerate(words):  # bits: 16 per register, bit 0 = least significant
            n = address + i
            index, mask = n // 16 - self.block_start, 1 << (n % 16)
            self.registers[index] = (
                (self.registers[index] | mask) if bit else (self.registers[index] & ~mask)
            )


class _SimServerBase:
    _unit_byte = 0  # where the unit id sits in a reply frame

    def __init__(self, units: list[ServedUnit], clock: Clock, *, realistic_ids: bool) -> None:
        self.units = {u.unit: u for u in units}
        self._clock = clock
        self._realistic_ids = realistic_ids
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    def _devices(self) -> list[SimDevice]:
        devices = [self._sim_device(u) for u in self.units.values()]
        # A catch-all unit keeps pymodbus from failing on unknown ids; its replies are dropped.
        devices.append(SimDevice(id=0, simdata=[SimData(0, datatype=DataType.INVALID)]))
        return devices

    def _sim_device(self, unit: ServedUnit) -> SimDevice:
        spans = unit.spans()
        blocks: list[list[SimData]] = []
        for table in _TUPLE_ORDER:
            start, end = spans.get(table, (_PLACEHOLDER, _PLACEHOLDER + 1))
            if table.is_register:
                data = SimData(start, count=end - start, values=0, datatype=DataType.REGISTERS)
            else:
                data = SimData(start, values=[False] * (end - start), datatype=DataType.BITS)
            blocks.append([data])

        return SimDevice(
            id=unit.unit,
            simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
            action=functools.partial(self._access, unit),  # pymodbus passes the rest by position
        )

    async def _access(
        self,
        unit: ServedUnit,
        fc: int,
        block_start: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        request = _RECEIVED.get()  # this request's: the task copied its connection's context
        unit.requests += 1
        delay = unit.fault.delay_for(unit.requests)
        if delay:
            await asyncio.sleep(delay)
        _ANSWERING.set(request)
        if unit.fault.exception is not None:
            return ExcCodes(unit.fault.exception)
        table = _TABLE_OF_FC[fc]
        wall = self._clock.wall()
        if set_values is None:
            unit.reads += 1
            unit.on_read(table, wall)
        else:
            unit.on_write(table, address, [int(v) for v in set_values], wall)
        image = _Image(table, block_start, registers)
        if not table.is_register:  # pymodbus passes bit requests as whole 16-bit registers
            address, count = address - address % 16, count * 16
        for addr, word in unit.words(table, address, count):
            image.put(table, addr, [word])
        return None

    def _trace_pdu(self, sending: bool, pdu: ModbusPDU) -> ModbusPDU:
        if not sending:
            _RECEIVED.set((pdu.dev_id, pdu.transaction_id))
            return pdu
        answering = _ANSWERING.get()
        if self._realistic_ids and answering is not None:
            pdu.dev_id, pdu.transaction_id = answering
            _ANSWERING.set(None)
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending or len(data) <= self._unit_byte:
            return data
        unit = self.units.get(data[self._unit_byte])
        if unit is None or unit.fault.silent:
            return b""
        if unit.fault.garbage:
            return random.Random(len(data)).randbytes(len(data))  # noqa: S311 (noise)
        if unit.fault.lying_count and len(data) > self._unit_byte + 3:
            count = self._unit_byte + 2  # unit, function, byte count
            return data[:count] + bytes([0xC8]) + data[count + 1 :]
        if unit.fault.bad_crc:
            return data[:-1] + bytes([data[-1] ^ 0x5A])
        return data

    async def stop(self) -> None:
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.shutdown()  # type: ignore[no-untyped-call]
            self._server = None


class SimModbusServer(_SimServerBase):
    """Units behind one Modbus TCP endpoint on 127.0.0.1 (port 0: a free port)."""

    _unit_byte = 6  # MBAP header: transaction(2) protocol(2) length(2) unit(1)

    def __init__(
        self,
        units: list[ServedUnit],
        clock: Clock,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        realistic_ids: bool = True,
    ) -> None:
        super().__init__(units, clock, realistic_ids=realistic_ids)
        self._host, self.port = host, port

    async def start(self) -> int:
        self._server = ModbusTcpServer(
            self._devices(),
            address=(self._host, self.port),
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,
        )
        await self._server.serve_forever(background=True)
        sockets = getattr(self._server.transport, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info(
            "sim_listening protocol=modbus-tcp host=%s port=%d units=%s",
            self._host,
            self.port,
            ",".join(str(u) for u in sorted(self.units)),
        )
        return self.port

    def drop_connections(self) -> int:
        """Close every client connection (a device rebooting, a cable pulled); keep listening."""
        server = self._server
        if server is None:
            return 0
        handlers = list(server.active_connections.values())
        for handler in handlers:
            handler.close()
        return len(handlers)


class SimSerialServer(_SimServerBase):
    """Units on one RS-485 line: a Modbus RTU server on a serial port (a socat pty in tests)."""

    def __init__(
        self,
        units: list[ServedUnit],
        clock: Clock,
        port: str,
        *,
        baud: int = 9600,
        parity: str = "N",
        realistic_ids: bool = True,
    ) -> None:
        super().__init__(units, clock, realistic_ids=realistic_ids)
        self.port, self._baud, self._parity = port, baud, parity

    async def start(self) -> str:
        self._server = ModbusSerialServer(
            self._devices(),
            framer=FramerType.RTU,
            port=self.port,
            baudrate=self._baud,
            parity=self._parity,
            trace_packet=self._trace_packet,
            trace_pdu=self._trace_pdu,
        )
        await self._server.serve_forever(background=True)
        log.info(
            "sim_listening protocol=modbus-rtu port=%s units=%s",
            self.port,
            ",".join(str(u) for u in sorted(self.units)),
        )
        return self.port
