"""Drain rate to a local mosquitto against raw paho QoS 1 publishing of the same messages,
in the same run, alternating run by run (goal: drain >= 90 % of raw); the median of the
per-run ratios is the figure (the raw rate itself swings on a shared machine). Also the
batched telemetry drain rate. Prints figures; asserts nothing.

    python -m bench.drain_vs_raw [N] [INFLIGHT]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from bench.common import PAYLOAD, broker, outbox
from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.mqtt_adapter import LinkSettings, MqttLink
from edge.uplink.outbox_db import OutRow
from edge.uplink.policy import MsgClass

PREFIX = "hubs/bench-hub"
# CPU time of this process per message (µs), last measurement last: steadier than the rates
# when other jobs share the cores (the broker's CPU is not counted, for either side).
CPU: list[float] = []


def raw_paho(url: str, bodies: list[tuple[str, str]], inflight: int) -> float:
    """The ceiling: paho alone, QoS 1, same topics and payloads, time to the last PUBACK."""
    n_msgs = len(bodies)
    host, port = url.split("//")[1].split(":")
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="raw", protocol=MQTTProtocolVersion.MQTTv5
    )
    client.max_inflight_messages_set(inflight)
    done = threading.Event()
    count = [0]

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        count[0] += 1
        if count[0] == len(bodies):
            done.set()

    client.on_publish = on_publish
    client.connect(host, int(port))
    client.loop_start()
    while not client.is_connected():
        time.sleep(0.01)
    t0, c0 = time.perf_counter(), time.process_time()
    for topic, body in bodies:
        client.publish(topic, body, qos=1)
    done.wait(120)
    dt = time.perf_counter() - t0
    CPU.append((time.process_time() - c0) / n_msgs * 1e6)
    client.disconnect()
    client.loop_stop()
    return len(bodies) / dt


async def fill(folder: Path, n: int, stream: str) -> list[tuple[str, str]]:
    box = outbox(folder)
    task = asyncio.create_task(box.run())
    await box.ready.wait()
    for i in range(n):
        box.offer(stream, PAYLOAD | {"i": i})
        if i % 5000 == 4999:
            await box.flush()
    await box.flush()
    cls = MsgClass.EVENT if stream.startswith("events") else MsgClass.TELEMETRY
    rows: list[OutRow] = await box.read(cls, 0, n)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await box.close()
    return [(f"{PREFIX}/{r.stream}", r.body) for r in rows]


async def drain(folder: Path, url: str, inflight: int, records: int) -> float:
    n_msgs = records
    box = outbox(folder)
    link = MqttLink(LinkSettings(url, "drain", max_inflight=inflight))
    d = Drain(box, link, DrainSettings(PREFIX, "bench-hub"))
    tasks = [asyncio.create_task(box.run()), asyncio.create_task(link.run())]
    await box.ready.wait()
    await link.connected.wait()
    all_acked = asyncio.Event()
    inner = d.handle_acks

    def counting(acks: list[tuple[int, int, int, str]]) -> None:
        inner(acks)
        if d.sent_records >= records:
            all_acked.set()

    link.on_acks = counting
    t0, c0 = time.perf_counter(), time.process_time()
    tasks.append(asyncio.create_task(d.run()))
    await asyncio.wait_for(all_acked.wait(), 300)
    dt = time.perf_counter() - t0
    CPU.append((time.process_time() - c0) / n_msgs * 1e6)
    await link.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await box.close()
    return records / dt


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    inflight = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    with broker() as b, tempfile.TemporaryDirectory() as tmp:
        raws, drains = [], []
        for run in range(runs):
            folder = Path(tmp) / f"ev{run}"
            bodies = asyncio.run(fill(folder, n, "events/session"))
            raws.append(raw_paho(b.url, bodies, inflight))
            drains.append(asyncio.run(drain(folder, b.url, inflight, n)))
            print(
                f"run {run}: raw paho {raws[-1]:8.0f} msg/s  drain {drains[-1]:8.0f} msg/s  "
                f"ratio {drains[-1] / raws[-1]:.0%}  CPU/msg raw {CPU[-2]:.0f} µs "
                f"drain {CPU[-1]:.0f} µs"
            )
        r, d = statistics.median(raws), statistics.median(drains)
        ratio = statistics.median(x / y for x, y in zip(drains, raws, strict=True))
        print(
            f"events, 1 record/msg, inflight {inflight}, {n} msgs x {len(bodies[0][1])} B: "
            f"raw {r:.0f} msg/s, drain {d:.0f} msg/s (medians of {runs}), "
            f"drain/raw {ratio:.0%} (median of the per-run ratios)"
        )
        cpu_raw, cpu_drain = CPU[0 : 2 * runs : 2], CPU[1 : 2 * runs : 2]
        cpu_ratio = statistics.median(r / d for r, d in zip(cpu_raw, cpu_drain, strict=True))
        print(
            f"CPU per message: raw {statistics.median(cpu_raw):.0f} µs, drain "
            f"{statistics.median(cpu_drain):.0f} µs (medians), raw/drain {cpu_ratio:.0%} "
            "(median of the per-run ratios: the drain's speed if the cores were its own)"
        )
        folder = Path(tmp) / "tele"
        asyncio.run(fill(folder, n * 5, "telemetry/site"))
        rate = asyncio.run(drain(folder, b.url, inflight, n * 5))
        print(f"telemetry, batched (<=50 records/msg): drain {rate:.0f} records/s")


if __name__ == "__main__":
    main()
