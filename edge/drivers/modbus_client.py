"""The one module that talks to pymodbus's client API, so an upgrade touches one place.

It translates library results into our three failures: `DeviceTimeout` (no answer),
`DeviceRejected` (a Modbus exception reply) and `LinkDown` (no connection), and it turns
pymodbus's own retries and reconnect policy off: retries and backoff are link policy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException

from edge.drivers.modbus_profile import Table

log = logging.getLogger(__name__)
# pymodbus logs an ERROR for every unanswered request; the link reports device trouble as
# one warning per drop instead. `logging.areas = { pymodbus = "debug" }` turns it back on.
logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

_READ_FUNCTION = {Table.COIL: 1, Table.DISCRETE: 2, Table.HOLDING: 3, Table.INPUT: 4}
_REGISTER_TABLES = frozenset({Table.HOLDING, Table.INPUT})
_READ_METHOD = {
    Table.HOLDING: "read_holding_registers",
    Table.INPUT: "read_input_registers",
    Table.COIL: "read_coils",
    Table.DISCRETE: "read_discrete_inputs",
}


class ModbusFailure(Exception):
    """Base of the failures a link sees."""


class DeviceTimeout(ModbusFailure):
    pass


class DeviceRejected(ModbusFailure):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class LinkDown(ModbusFailure):
    pass


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    host: str
    port: int


@dataclass(frozen=True, slots=True)
class SerialLine:
    port: str
    baud: int
    parity: str
    stopbits: int


class ModbusClient:
    """One pymodbus client (one TCP connection or one serial port)."""

    def __init__(self, target: TcpEndpoint | SerialLine, timeout_s: float) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self._bad_frame: str | None = None  # why the last reply could not be decoded

    def _new_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        client = self._make_client()
        self._guard_frames(client)
        return client

    def _guard_frames(self, client: AsyncModbusTcpClient | AsyncModbusSerialClient) -> None:
        """pymodbus decodes replies inside asyncio's data_received: a reply it cannot decode
        (garbage in a valid frame, a byte count that lies) raises there, asyncio logs a
        "Fatal error" traceback, and the request only times out. Catch it at the source,
        keep the cause for the request's error, and drop the bytes."""
        decode = client.ctx.callback_data

        def guarded(data: bytes, addr: tuple[str, int] | None = None) -> int:
            try:
                used = decode(data, addr)
            except Exception as exc:  # any decode failure is a bad reply, never a crash
                self._bad_frame = f"undecodable reply: {exc} (bytes {data[:16].hex()})"
                log.debug("modbus_bad_frame endpoint=%s error=%s", self.describe(), exc)
                return len(data)
            if used and client.ctx.last_pdu is None:  # bytes the framer threw away
                self._bad_frame = f"reply not a Modbus frame (bytes {data[:16].hex()})"
            return used

        setattr(client.ctx, "callback_data", guarded)  # noqa: B010 (mypy: method assignment)

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        if isinstance(self.target, TcpEndpoint):
            return AsyncModbusTcpClient(
                self.target.host,
                port=self.target.port,
                timeout=self.timeout_s,
                retries=0,
                reconnect_delay=0,  # reconnects are the link's decision, with its own backoff
            )
        return AsyncModbusSerialClient(
            self.target.port,
            framer=FramerType.RTU,
            baudrate=self.target.baud,
            parity=self.target.parity,
            stopbits=self.target.stopbits,
            bytesize=8,
            timeout=self.timeout_s,
            retries=0,
            reconnect_delay=0,
        )

    @property
    def connected(self) -> bool:
        return self._client is not None and bool(self._client.connected)

    async def connect(self) -> None:
        if self.connected:
            return
        await self.close()
        self._client = self._new_client()
        try:
            ok = await asyncio.wait_for(self._client.connect(), timeout=self.timeout_s * 2)
        except (TimeoutError, OSError, ModbusException) as exc:
            raise LinkDown(f"connect to {self.describe()} failed: {exc}") from exc
        if not ok:
            raise LinkDown(f"connect to {self.describe()} failed")

    async def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def describe(self) -> str:
        if isinstance(self.target, TcpEndpoint):
            return f"{self.target.host}:{self.target.port}"
        return f"{self.target.port}@{self.target.baud}"

    async def read(self, table: Table, address: int, count: int, unit: int) -> list[int]:
        """Registers (or bits as 0/1) of one read; raises a ModbusFailure."""
        client = self._client
        if client is None or not client.connected:
            client = await self._ready()
        call = getattr(client, _READ_METHOD[table])
        rr = await self._execute(lambda: call(address, count=count, device_id=unit), unit, address)
        if rr.function_code != _READ_FUNCTION[table]:
            # RTU has no transaction id: a late reply to another read can arrive here.
            raise DeviceTimeout(
                f"reply of function {rr.function_code} to a function {_READ_FUNCTION[table]} "
                f"read (unit {unit}, address {address})"
            )
        # Registers come as a new list of ints per reply; bits as bools, padded to a byte.
        values = rr.registers if table in _REGISTER_TABLES else [int(v) for v in rr.bits[:count]]
        if len(values) != count:
            # A reply of the wrong length is someone else's answer (or garbage): never data.
            raise DeviceTimeout(
                f"reply length {len(values)} != requested {count} (unit {unit}, address {address})"
            )
        return values

    async def write(self, table: Table, address: int, values: list[int], unit: int) -> None:
        client = await self._ready()
        if table is Table.COIL:
            await self._execute(
                lambda: client.write_coil(address, bool(values[0]), device_id=unit), unit, address
            )
        elif len(values) == 1:
            await self._execute(
                lambda: client.write_register(address, values[0], device_id=unit), unit, address
            )
        else:
            await self._execute(
                lambda: client.write_registers(address, values, device_id=unit), unit, address
            )

    async def _ready(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        await self.connect()
        assert self._client is not None
        return self._client

    def _garbled(self) -> str | None:
        """Bytes left over that never made a frame (garbage, or a length that lies)."""
        pending = bytes(self._client.ctx.recv_buffer) if self._client is not None else b""
        if not pending:
            return None
        return f"garbled reply: {len(pending)} bytes that make no frame ({pending[:16].hex()})"

    async def _execute(self, request: Callable[[], Awaitable[Any]], unit: int, address: int) -> Any:
        """Build and send a request. pymodbus raises `ConnectionException: Not connected`
        while *building* one on a connection that just dropped, so building sits inside the
        same translation as the wait for the reply."""
        self._bad_frame = None
        try:
            rr = await request()
        except ModbusIOException as exc:
            why = self._bad_frame or self._garbled() or f"no reply within {self.timeout_s:g}s"
            raise DeviceTimeout(
                f"{why} (unit {unit}, address {address}, {self.describe()})"
            ) from exc
        except ConnectionException as exc:
            await self.close()
            raise LinkDown(f"connection to {self.describe()} lost: {exc}") from exc
        except ModbusException as exc:
            raise DeviceTimeout(f"bad reply (unit {unit}, address {address}): {exc}") from exc
        if rr.isError():
            code = int(getattr(rr, "exception_code", 0))
            raise DeviceRejected(f"exception {code} (unit {unit}, address {address})", code)
        return rr
