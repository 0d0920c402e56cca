"""Time to drain a 24 h backlog of a 30-bay hub, and the latency of a live event during it.

Profiles:
- `daemon`: what this daemon publishes today: a site snapshot (30 bays) and device health
  every 10 s, buffer stats every 10 s; events: meter data per bay per minute, 2 per session
  (300 sessions), gate audit (600).
- `dense`: the hub sizing in docs/sources.md, 50 telemetry records/s (30 bays + 20 devices at 1 Hz,
  about 4.3 M records a day), same events.
The backlog is written while "offline", then one drain runs to empty while a live event
(`events/alarm`) is accepted every 50 ms and timed to its arrival at a subscriber.
Prints figures; asserts nothing.    python -m bench.backlog [daemon|dense] [HOURS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.common import broker, outbox
from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.mqtt_adapter import LinkSettings, Message, MqttLink
from edge.uplink.outbox import Outbox
from edge.uplink.policy import MsgClass

PREFIX = "hubs/antwerp-bruges"
BAY = {"power_w": 350000.0, "setpoint_w": 360000.0, "state": "charging", "available": True}


def telemetry_plan(profile: str, hours: float) -> list[tuple[str, dict[str, object], int]]:
    """(stream, payload, how many) for the backlog."""
    secs = int(hours * 3600)
    if profile == "dense":
        return [
            ("telemetry/bay", {"bay": "B07", **BAY}, secs * 30),
            ("telemetry/device", {"device": "meter-07", "power_w": 1.0, "ok": True}, secs * 20),
        ]
    snap = {"grid": {"import_w": 1.2e6}, "bays": [dict(BAY, id=f"B{i:02}") for i in range(30)]}
    health = {"devices": [{"device": f"dev-{i}", "state": "ok", "polls": 1000} for i in range(50)]}
    return [
        ("telemetry/site", snap, secs // 10),
        ("telemetry/health", health, secs // 10),
        ("telemetry/buffer", {"depth": {"event": 0}}, secs // 10),
    ]


def event_plan(hours: float) -> list[tuple[str, dict[str, object], int]]:
    scale = hours / 24
    return [
        ("events/meter", {"bay": "B07", "energy_wh": 123456.7}, int(30 * 60 * 24 * scale)),
        ("events/session", {"bay": "B07", "session": "S-1", "kind": "stop"}, int(600 * scale)),
        ("events/gate", {"lane": "north", "plate": "1-ABC-123"}, int(600 * scale)),
    ]


async def fill(box: Outbox, plan: list[tuple[str, dict[str, object], int]]) -> int:
    total = 0
    for stream, payload, n in plan:
        for i in range(n):
            box.offer(stream, payload)
            if i % 20_000 == 19_999:
                await box.flush()
        total += n
    await box.flush()
    return total


async def run(profile: str, hours: float, url: str, folder: Path) -> None:
    box = outbox(folder)
    writer = asyncio.create_task(box.run())
    await box.ready.wait()
    t0 = time.perf_counter()
    n = await fill(box, telemetry_plan(profile, hours)) + await fill(box, event_plan(hours))
    print(
        f"{profile} {hours:g} h backlog: {n} records, {box.db.file_bytes() / 1e6:.0f} MB, "
        f"written in {time.perf_counter() - t0:.1f} s"
    )
    arrivals: dict[str, float] = {}
    sub = MqttLink(LinkSettings(url, "bench-sub", subscriptions=(f"{PREFIX}/events/alarm",)))

    def on_message(msg: Message) -> None:
        arrivals[msg[2].decode().split('"msg_id":"')[1][:32]] = time.perf_counter()
        sub.ack(msg[0], msg[3], msg[4])

    sub.on_message = on_message
    link = MqttLink(LinkSettings(url, "bench-hub", max_inflight=50))
    drain = Drain(box, link, DrainSettings(PREFIX, "antwerp-bruges"))
    tasks = [asyncio.create_task(sub.run()), asyncio.create_task(link.run())]
    await sub.connected.wait()
    await link.connected.wait()
    t0 = time.perf_counter()
    tasks.append(asyncio.create_task(drain.run()))
    sent: dict[str, float] = {}
    # Done when only the live event just accepted may still be on its way.
    while box.counts[MsgClass.TELEMETRY] > 0 or box.counts[MsgClass.EVENT] > 1:
        before = time.perf_counter()  # latency includes the durable commit
        msg_id = await box.accept("events/alarm", {"alarm": "live", "active": True, "message": ""})
        sent[msg_id] = before
        await asyncio.sleep(0.05)
    took = time.perf_counter() - t0
    await asyncio.sleep(1.0)  # the last live events arrive
    lat = sorted(arrivals[m] - sent[m] for m in sent if m in arrivals)
    print(f"drained in {took:.1f} s ({n / took:.0f} records/s, {drain.sent_msgs} messages)")
    if lat:
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        p50 = statistics.median(lat)
        print(
            f"live event latency (accept -> subscriber) during the drain: n={len(lat)}"
            f" p50 {p50 * 1000:.0f} ms"
            f" p99 {p99 * 1000:.0f} ms max {lat[-1] * 1000:.0f} ms (lost {len(sent) - len(lat)})"
        )
    await link.close()
    await sub.close()
    for t in [*tasks, writer]:
        t.cancel()
    await asyncio.gather(*tasks, writer, return_exceptions=True)
    await box.close()


def main() -> None:
    profile = sys.argv[1] if len(sys.argv) > 1 else "daemon"
    hours = float(sys.argv[2]) if len(sys.argv) > 2 else 24.0
    with broker() as b, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(profile, hours, b.url, Path(tmp)))


if __name__ == "__main__":
    main()
