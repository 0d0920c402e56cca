"""An outbox + link + drain against a test broker, and a Tail collecting what arrives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from edge.uplink.cloud_tail import Tail
from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.mqtt_adapter import LinkSettings, MqttLink
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from tests.polling import wait_until

PREFIX = "hubs/test-hub"
BIG = Budget(10**9, 10**7)


@dataclass
class Hub:
    outbox: Outbox
    link: MqttLink
    drain: Drain
    tasks: list[asyncio.Task[None]]


def link_settings(url: str, client_id: str, **kw: object) -> LinkSettings:
    base = LinkSettings(url, client_id, backoff_min_s=0.1, backoff_max_s=0.5)
    return replace(base, **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def hub(
    url: str,
    state: Path,
    *,
    mqtt_version: str = "5",
    budget: Budget = BIG,
    **kw: object,
) -> AsyncIterator[Hub]:
    settings = OutboxSettings(state / "outbox.db", budget, commit_window_s=0.02)
    box = Outbox(settings, site="test-hub", boot_id="boot-1")
    link = MqttLink(link_settings(url, "hub-under-test", mqtt_version=mqtt_version, **kw))
    drain = Drain(box, link, DrainSettings(PREFIX, "test-hub"))
    tasks = [asyncio.create_task(t()) for t in (box.run, link.run, drain.run)]
    await asyncio.wait_for(box.ready.wait(), 20)
    try:
        yield Hub(box, link, drain, tasks)
    finally:
        await link.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await box.flush()
        await box.close()


@asynccontextmanager
async def tail(
    url: str, name: str = "tail", prefix: str = PREFIX, **kw: object
) -> AsyncIterator[Tail]:
    t = Tail(link_settings(url, name, **kw), prefix)
    task = asyncio.create_task(t.link.run())
    await asyncio.wait_for(t.link.connected.wait(), 20)
    try:
        yield t
    finally:
        await t.link.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


until = wait_until  # the name the uplink tests use
