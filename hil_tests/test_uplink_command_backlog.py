"""A command backlog never stalls the command channel: 2,000 commands queued at the broker
(retained session, QoS 1) while the daemon was down are all answered, in order, after one
start; 2,000 commands sent at once to a running daemon are all answered. Under MQTT 5 the
daemon's Receive Maximum bounds what the broker sends; under MQTT 3.1.1 (the test broker
allows 100 in flight, more than the inbox holds) the daemon stops reading its socket while
its inbox is full. Either way no unacknowledged message is dropped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.runtime import Daemon
from edge.siteconf import load_site
from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.test_uplink_daemon import PREFIX, Cloud, replies, site_file

pytestmark = pytest.mark.hil
N = 2000


def reply_order(t: object) -> list[str]:
    """Request ids in the order their first reply was published."""
    return list(replies(t))


async def start(config: Path, sock: Path) -> tuple[Daemon, asyncio.Task[int]]:
    daemon = Daemon(load_site(config), socket_path=sock)
    return daemon, asyncio.create_task(daemon.run())


async def stop(daemon: Daemon, run: asyncio.Task[int]) -> None:
    daemon.request_stop()
    assert await asyncio.wait_for(run, 30) == 0


@pytest.mark.parametrize("version", ["5", "3.1.1"])
async def test_commands_queued_while_down_are_all_answered_in_order(
    broker: Broker, tmp_path: Path, version: str
) -> None:
    config = site_file(tmp_path, broker, f'mqtt_version = "{version}"')
    sent = [f"q{i}" for i in range(N)]
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        # First boot creates the daemon's persistent session (its subscription) at the broker.
        daemon, run = await start(config, tmp_path / "a.sock")
        await until(lambda: daemon.uplink is not None and daemon.uplink.link.state == "connected")
        await stop(daemon, run)
        for rid in sent:
            cloud.send("ping", {"request_id": rid, "args": {}})
        daemon, run = await start(config, tmp_path / "b.sock")
        try:
            await until(lambda: set(sent) <= set(replies(t)), 90, "a reply to every command")
            assert daemon.uplink is not None
            pauses = daemon.uplink.link.read_pauses
        finally:
            await stop(daemon, run)
    assert reply_order(t) == sent
    assert {replies(t)[r]["status"] for r in sent} == {"ok"}
    if version == "3.1.1":  # the broker sent more than the inbox holds: reading paused
        assert pauses > 0


async def test_a_sender_faster_than_the_handlers_never_stalls(
    broker: Broker, tmp_path: Path
) -> None:
    config = site_file(tmp_path, broker)
    sent = [f"f{i}" for i in range(N)]
    async with tail(broker.url, prefix=PREFIX) as t, Cloud(broker.url) as cloud:
        daemon, run = await start(config, tmp_path / "a.sock")
        try:
            await until(
                lambda: daemon.uplink is not None and daemon.uplink.link.state == "connected"
            )
            for rid in sent:
                cloud.send("ping", {"request_id": rid, "args": {}})
            await until(lambda: set(sent) <= set(replies(t)), 90, "a reply to every command")
            # The channel still takes commands after the burst.
            cloud.send("ping", {"request_id": "after", "args": {}})
            await until(lambda: "after" in replies(t), 30, "a reply after the burst")
        finally:
            await stop(daemon, run)
    assert reply_order(t)[:N] == sent
