"""A Modbus link: one physical medium (a TCP endpoint or an RS-485 line) and its policy.

Every device on the medium shares the link. Requests queue by priority (control-critical
first) and run one at a time, as the bus demands. The link owns the retry policy:

* **Late replies never become data.** After any timeout a TCP connection is dropped and
  reopened: a late reply dies with the old socket. On an RTU line there is no transaction
  id, so three rules together make a late reply harmless: the line stays quiet after a
  timeout until a reply already on its way has passed (its frame time at the line's baud);
  a reply from another unit is discarded by its unit id; and the unit that timed out is not
  asked again before its late-reply window (at least twice the timeout) has passed, so its
  late answer cannot be taken for the answer to its next request. Replies of the wrong
  length or function are treated as timeouts.
* **A dead unit costs the others at most its own timeout** (plus one reply frame time on
  RTU): after a failure a unit backs off (`backoff_s` doubling to `max_backoff_s`) and its
  requests fail at once meanwhile, without touching the line.
* **Retries are link policy**: none inside a poll; a device's next poll is its retry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from edge.clock import Clock
from edge.drivers.line_capacity import Framing, Transaction, reply_s
from edge.drivers.link_stats import LinkStats, Served, UnitHealth
from edge.drivers.modbus_client import (
    DeviceRejected,
    DeviceTimeout,
    LinkDown,
    ModbusClient,
    ModbusFailure,
    TcpEndpoint,
)
from edge.drivers.modbus_profile import Table
from edge.drivers.request_queue import RequestQueue

log = logging.getLogger(__name__)

PRIORITY_CONTROL = 0  # setpoints and the reads control depends on
PRIORITY_NORMAL = 5
PRIORITY_BACKGROUND = 9  # slow counters, diagnostics
RECONNECT_S = 0.5  # first retry after the endpoint was unreachable; doubles to 10 s


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


class ModbusLink:
    def __init__(
        self,
        link_id: str,
        client: ModbusClient,
        clock: Clock,
        *,
        framing: Framing | None = None,
        quiet_after_timeout_s: float | None = None,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
        late_reply_window_s: float | None = None,
        reconnect_after_timeout: bool = True,
    ) -> None:
        self.id = link_id
        self._client = client
        self._clock = clock
        self._is_tcp = isinstance(client.target, TcpEndpoint)
        self.framing = framing
        self._quiet_s = quiet_after_timeout_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        # A unit that timed out is not asked again before this has passed since its request.
        self.late_reply_window_s = (
            2.0 * client.timeout_s if late_reply_window_s is None else late_reply_window_s
        )
        self._reconnect_after_timeout = reconnect_after_timeout
        self._down_until = 0.0  # while the endpoint is unreachable, fail requests at once
        self._reconnect_s = RECONNECT_S
        self._max_reconnect_s = 10.0
        self.observers: list[Callable[[Served], None]] = []
        self._queue: RequestQueue[_Request] = RequestQueue()
        self.stats = LinkStats(started_at=clock.monotonic())
        self.connected = False

    def describe(self) -> str:
        return self._client.describe()

    def counters(self) -> dict[str, int]:
        return {"requests": self.stats.requests, "reconnects": self.stats.reconnects}

    def unit_health(self, unit: int) -> UnitHealth:
        health = self.stats.units.get(unit)
        if health is None:
            health = self.stats.units[unit] = UnitHealth()
        return health

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

    def _submit(self, request: _Request, priority: int) -> asyncio.Future[list[int]]:
        now = self._clock.monotonic()
        if self._down_until > now:
            raise LinkDown(f"link {self.id} down, retrying in {self._down_until - now:.1f}s")
        if self.unit_health(request.unit).backoff_until > now:
            raise self._backing_off(request.unit)
        self._queue.push(priority, request)
        return request.future

    async def run(self) -> None:
        """The link's worker: one request on the medium at a time, forever."""
        task = asyncio.current_task()
        request: _Request | None = None
        try:
            while True:
                request = await self._queue.pop()
                if not request.future.cancelled():
                    await self._serve(request)
                request = None
                if task is not None and task.cancelling():
                    # CPython < 3.12: asyncio.wait_for (inside pymodbus) can swallow a cancel
                    # that races with the reply; without this the link would never stop.
                    raise asyncio.CancelledError
        finally:
            stopped = LinkDown(f"link {self.id} stopped")
            if request is not None:  # the one on the medium when the task ended
                self._settle(request, stopped)
            self._fail_queued(stopped)
            await self._client.close()

    def _fail_queued(self, error: LinkDown) -> None:
        """A device never waits on a request the link will not serve (a restarted link
        starts with an empty queue, and its devices' next polls go through it)."""
        while (request := self._queue.pop_nowait()) is not None:
            self._settle(request, error)

    async def _serve(self, request: _Request) -> None:
        health = self.unit_health(request.unit)
        started = self._clock.monotonic()
        outcome = "ok"
        try:
            if health.backoff_until > started or self._down_until > started:
                # Queued before its unit (or the link) failed: fail it without the line.
                outcome = "backoff"
                error: ModbusFailure = self._backing_off(request.unit)
                if self._down_until > started:
                    error = LinkDown(f"link {self.id} down: {health.last_error}")
                self._settle(request, error)
                return
            result = await self._transact(request)
        except DeviceRejected as exc:
            # The device answered: the line is healthy, only the request was refused.
            outcome = "rejected"
            health.rejected += 1
            health.last_error = str(exc)
            self._settle(request, exc)
        except (DeviceTimeout, LinkDown) as exc:
            outcome = "down" if isinstance(exc, LinkDown) else "timeout"
            self._record_failure(health, exc, started)
            self._settle(request, exc)
            await self._recover(exc, request)
        except Exception as exc:  # anything the adapter did not translate: the link is suspect
            outcome = "down"
            log.warning("link_error link=%s error=%s: %s", self.id, type(exc).__name__, exc)
            down = LinkDown(f"link {self.id}: {type(exc).__name__}: {exc}")
            self._record_failure(health, down, started)
            self._settle(request, down)
            await self._client.close()
            await self._recover(down, request)
        else:
            self.connected = True
            self._reconnect_s = RECONNECT_S
            health.ok += 1
            health.consecutive_failures = 0
            health.backoff_until = 0.0
            self._settle(request, result)
        finally:
            ended = self._clock.monotonic()
            if outcome != "backoff":
                self.stats.requests += 1
                self.stats.busy_s += ended - started
            if self.observers:
                self._notify(request, outcome, started, ended)

    async def _transact(self, request: _Request) -> list[int]:
        if request.values is None:
            return await self._client.read(
                request.table, request.address, request.count, request.unit
            )
        await self._client.write(request.table, request.address, request.values, request.unit)
        return request.values

    def _backing_off(self, unit: int) -> UnitBackingOff:
        health = self.unit_health(unit)
        return UnitBackingOff(f"unit {unit} backing off after: {health.last_error}")

    def _notify(self, request: _Request, outcome: str, started: float, ended: float) -> None:
        served = Served(
            request.unit,
            request.table,
            request.address,
            request.count,
            request.values is not None,
            outcome,
            started,
            ended,
        )
        for observer in self.observers:
            observer(served)

    def _record_failure(self, health: UnitHealth, exc: ModbusFailure, sent_at: float) -> None:
        health.last_error = str(exc)
        if isinstance(exc, LinkDown):
            return  # the medium is down, not the unit: the link retries, the unit keeps its rank
        health.timeouts += 1
        health.consecutive_failures += 1
        delay = min(self._max_backoff_s, self._backoff_s * 2 ** (health.consecutive_failures - 1))
        # Never before the late-reply window has passed: the unit's late answer must not be
        # mistaken for the answer to its next request (RTU has no transaction id).
        health.backoff_until = max(
            self._clock.monotonic() + delay, sent_at + self.late_reply_window_s
        )

    async def _recover(self, exc: ModbusFailure, request: _Request) -> None:
        if isinstance(exc, LinkDown):
            # Every request fails at once until the next attempt: none waits in the queue.
            self.connected = False
            self._down_until = self._clock.monotonic() + self._reconnect_s
            self._reconnect_s = min(self._max_reconnect_s, self._reconnect_s * 2)
        elif self._is_tcp:
            if self._reconnect_after_timeout:
                await self._client.close()  # a late reply cannot reach a new connection
                self.stats.reconnects += 1
        else:
            await self._clock.sleep(self.quiet_after_timeout_s(request))

    def quiet_after_timeout_s(self, request: _Request) -> float:
        """RTU: let a reply already on its way pass the line before the next request."""
        if self._quiet_s is not None:
            return self._quiet_s
        if self.framing is None:
            return self._client.timeout_s
        tx = Transaction(request.table, request.count, request.values is not None)
        return reply_s(self.framing, tx) + 0.01  # + scheduling slack of the adapter

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
