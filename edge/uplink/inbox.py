"""Incoming command messages between the link and the command task, without ever dropping one.

A QoS 1 message that is not acknowledged is resent by the broker only when the session resumes
on a new connection, and meanwhile it occupies one slot of the broker's in-flight window for
this client: dropping it "for a later redelivery" stalls the command channel until the next
reconnect. So the inbox never refuses a message; its size is bounded by flow control instead:

- MQTT 5: the client's Receive Maximum (sent in CONNECT) is `capacity`, so the broker has at
  most `capacity` unacknowledged messages out to us, and every message in the inbox is
  unacknowledged (the command task acknowledges only once the command is persisted).
- MQTT 3.1.1 (no Receive Maximum): when the inbox reaches `capacity` the link stops reading
  its socket (TCP then pushes back on the broker) until the inbox is down to half.

One read of the socket may deliver a few messages more than `capacity` (paho parses what it
has read); they are kept, never dropped.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

from edge.uplink.mqtt_adapter import Message


class PausesReading(Protocol):
    def pause_reading(self, paused: bool) -> None: ...


class CommandInbox:
    def __init__(self, capacity: int, link: PausesReading) -> None:
        self.capacity = max(2, capacity)
        self._link = link
        self._items: collections.deque[Message] = collections.deque()
        self._ready = asyncio.Event()
        self._paused = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, msg: Message) -> None:
        """From the link's message callback: keep it, and push back when full."""
        self._items.append(msg)
        self._ready.set()
        if len(self._items) >= self.capacity:  # (again on a new connection: it reads anew)
            self._paused = True
            self._link.pause_reading(True)

    async def get(self) -> Message:
        return (await self.get_batch(1))[0]

    async def get_batch(self, limit: int) -> list[Message]:
        """Wait for a message, then take it and those behind it, up to `limit`, in order."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        batch = [self._items.popleft() for _ in range(min(limit, len(self._items)))]
        if self._paused and len(self._items) <= self.capacity // 2:
            self._paused = False
            self._link.pause_reading(False)
        return batch
