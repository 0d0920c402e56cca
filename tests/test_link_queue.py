"""A link serves waiting requests control-critical first, in arrival order within a priority,
and a request queued while the worker waits wakes it."""

from __future__ import annotations

import asyncio

from edge.drivers.modbus_link import (
    PRIORITY_BACKGROUND,
    PRIORITY_CONTROL,
    PRIORITY_NORMAL,
)
from edge.drivers.modbus_profile import Table
from edge.drivers.request_queue import RequestQueue
from edge.sim.modbus_server import SimModbusServer
from edge.sim.sim_unit import SimUnit, StaticModel
from tests.peers import CLOCK, bounded, running, tcp_link
from tests.test_writes import profile


async def test_the_queue_orders_by_priority_then_arrival_and_wakes_its_consumer() -> None:
    queue: RequestQueue[str] = RequestQueue()
    waiting = asyncio.create_task(queue.pop())
    await asyncio.sleep(0)  # the consumer now waits on an empty queue
    queue.push(PRIORITY_BACKGROUND, "first in")
    assert await bounded(waiting, 5) == "first in"
    for priority, item in [(9, "bg-1"), (5, "n-1"), (0, "c-1"), (9, "bg-2"), (0, "c-2")]:
        queue.push(priority, item)
    assert len(queue) == 5
    assert [await queue.pop() for _ in range(5)] == ["c-1", "c-2", "n-1", "bg-1", "bg-2"]
    assert queue.pop_nowait() is None


async def test_a_link_serves_control_reads_before_background_ones() -> None:
    unit = SimUnit(1, profile("eastron-sdm630"), StaticModel({}))
    server = SimModbusServer([unit], CLOCK)
    port = await server.start()
    link = tcp_link(port, 1.0)
    served: list[int] = []
    link.observers.append(lambda s: served.append(s.address) if s.outcome == "ok" else None)
    order = [
        (0, PRIORITY_BACKGROUND),
        (2, PRIORITY_NORMAL),
        (4, PRIORITY_CONTROL),
        (6, PRIORITY_BACKGROUND),
        (8, PRIORITY_CONTROL),
    ]
    try:
        # Every read is queued before the worker starts, so its order is the queue's.
        reads = [
            asyncio.create_task(link.read(1, Table.INPUT, address, 2, priority))
            for address, priority in order
        ]
        await asyncio.sleep(0)
        async with running(link.run):
            await bounded(asyncio.gather(*reads), 10)
    finally:
        await server.stop()
    assert served == [4, 8, 2, 0, 6]
