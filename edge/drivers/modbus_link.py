"""A Modbus link: one physical medium (a TCP endpoint or an RS-485 line) and its policy.

Every device on the medium shares the link. Requests queue by priority (control-critical
first) and run one at a time, as the bus demands. The link owns the retry policy:

* **Late replies never become data.** After any timeout a TCP connection is dropped and
  reopened (a late reply dies with the old socket); an RTU line stays quiet for
  `quiet_after_timeout_s` so a late answer has passed before the next request is sent.
  Replies of the wrong length are treated as timeouts.
* **A dead unit costs the others at most its own timeout**: after a failure a unit backs off
  (`backoff_s` doubling to `max_backoff_s`) and its requests fail at once meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field

from edge.clock import Clock
from edge.drivers.modbus_client import (
    DeviceRejected,
    DeviceTimeout,
    LinkDown,
    ModbusClient,
    ModbusFailure,
    TcpEndpoint,
)
from edge.drivers.profile import Table

log = logging.getLogger(__name__)

PRIORITY_CONTROL = 0  # setpoints and the reads control depends on
PRIORITY_NORMAL = 5
PRIORITY_BACKGROUND = 9  # slow counters, diagnostics


class UnitBackingOff(ModbusFailure):
    """The unit failed recently; the request was not sent so the line stays free."""


@dataclass(slots=True)
class _Request:
    unit: int
    table: Table
    address: int
    count: int
    values: list[int] | None  # None: a read
    future: asyncio.Future[list[int]]


@dataclass(slots=True)
class UnitHealth:
    ok: int = 0
    timeouts: int = 0
    rejected: int = 0
    consecutive_failures: int = 0
    backoff_until: float = 0.0
    last_error: str = ""


@dataclass(slots=True)
class LinkStats:
    requests: int = 0
    busy_s: float = 0.0
    reconnects: int = 0
    started_at: float = 0.0
    units: dict[int, UnitHealth] = field(default_factory=dict)


class ModbusLink:
    def __init__(
        self,
        link_id: str,
        client: ModbusClient,
        clock: Clock,
        *,
        quiet_after_timeout_s: float | None = None,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.id = link_id
        self._client = client
        self._clock = clock
        self._is_tcp = isinstance(client.target, TcpEndpoint)
        self._quiet_s = client.timeout_s if quiet_after_timeout_s is None else quiet_after_timeout_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._queue: asyncio.PriorityQueue[tuple[int, int, _Request]] = asyncio.PriorityQueue()
        self._seq = itertools.count()
        self.stats = LinkStats(started_at=clock.monotonic())
        self.connected = False

    def describe(self) -> str:
        return self._client.describe()

    def unit_health(self, unit: int) -> UnitHealth:
        return self.stats.units.setdefault(unit, UnitHealth())

    async def read(
        self, unit: int, table: Table, address: int, count: int, priority: int = PRIORITY_NORMAL
    ) -> list[int]:
        return await self._submit(
            _Request(unit, table, address, count, None, self._future()), priority
        )

    async def write(
        self,
        unit: int,
        table: Table,
        address: int,
        values: list[int],
        priority: int = PRIORITY_CONTROL,
    ) -> None:
        await self._submit(
            _Request(unit, table, address, len(values), values, self._future()), priority
        )

    def _future(self) -> asyncio.Future[list[int]]:
        return asyncio.get_running_loop().create_future()

    async def _submit(self, request: _Request, priority: int) -> list[int]:
        health = self.unit_health(request.unit)
        if health.backoff_until > self._clock.monotonic():
            raise UnitBackingOff(f"unit {request.unit} backing off after: {health.last_error}")
        self._queue.put_nowait((priority, next(self._seq), request))
        return await request.future

    async def run(self) -> None:
        """The link's worker: one request on the medium at a time, forever."""
        try:
            while True:
                _, _, request = await self._queue.get()
                if request.future.cancelled():
                    continue
                await self._serve(request)
        finally:
            await self._client.close()

    async def _serve(self, request: _Request) -> None:
        health = self.unit_health(request.unit)
        started = self._clock.monotonic()
        try:
            if request.values is None:
                result = await self._client.read(
                    request.table, request.address, request.count, request.unit
                )
            else:
                await self._client.write(
                    request.table, request.address, request.values, request.unit
                )
                result = request.values
        except DeviceRejected as exc:
            # The device answered: the line is healthy, only the request was refused.
            health.rejected += 1
            health.last_error = str(exc)
            self._settle(request, exc)
        except (DeviceTimeout, LinkDown) as exc:
            self._record_failure(health, exc)
            self._settle(request, exc)
            await self._recover(exc)
        else:
            self.connected = True
            health.ok += 1
            health.consecutive_failures = 0
            health.backoff_until = 0.0
            self._settle(request, result)
        finally:
            self.stats.requests += 1
            self.stats.busy_s += self._clock.monotonic() - started

    def _record_failure(self, health: UnitHealth, exc: ModbusFailure) -> None:
        health.timeouts += 1
        health.consecutive_failures += 1
        health.last_error = str(exc)
        delay = min(self._max_backoff_s, self._backoff_s * 2 ** (health.consecutive_failures - 1))
        health.backoff_until = self._clock.monotonic() + delay

    async def _recover(self, exc: ModbusFailure) -> None:
        if isinstance(exc, LinkDown):
            self.connected = False
            await self._clock.sleep(min(self._backoff_s, 1.0))
        elif self._is_tcp:
            await self._client.close()  # a late reply cannot reach a new connection
            self.stats.reconnects += 1
        else:
            await self._clock.sleep(self._quiet_s)  # let any late reply pass the line

    @staticmethod
    def _settle(request: _Request, outcome: list[int] | BaseException) -> None:
        if request.future.done():
            return
        if isinstance(outcome, BaseException):
            request.future.set_exception(outcome)
        else:
            request.future.set_result(outcome)

    def utilisation(self) -> float:
        """Share of wall time the medium was busy since start (0..1)."""
        elapsed = self._clock.monotonic() - self.stats.started_at
        return min(1.0, self.stats.busy_s / elapsed) if elapsed > 0 else 0.0
