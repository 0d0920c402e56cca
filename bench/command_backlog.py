"""Time to answer a command backlog after a start: N `ping` commands (QoS 1) queued at the
broker in the daemon's persistent session while it was stopped, then `edge run` started;
the clock runs from the process start to the last reply seen by a cloud-side tail (goal for
2,000: under 10 s on a 2-core machine). Baseline in the same run: raw paho with the same
session semantics (manual ack, a QoS 1 reply per command, nothing persisted), which is the
broker's and paho's ceiling. Prints figures; asserts nothing.

    python -m bench.command_backlog [N]      (default 2000)
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties

from bench.common import broker
from edge.siteconf import load_site
from hil_tests.broker import Broker
from hil_tests.harness import tail, until
from hil_tests.test_uplink_daemon import PREFIX, Cloud, replies, site_file

ROOT = Path(__file__).resolve().parents[1]


def session_client(url: str, client_id: str) -> mqtt.Client:
    host, port = url.split("//")[1].split(":")
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=True,
    )
    props = Properties(mqtt.PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect(host, int(port), clean_start=False, properties=props)
    return client


def raw_round(url: str, n: int) -> float:
    """Raw paho: receive the queued commands, reply to each (QoS 1), ack; seconds to the
    last reply's PUBACK, from the connect."""
    sub = session_client(url, "raw-hub")
    sub.subscribe(f"{PREFIX}/cmd/+", qos=1)
    sub.loop_start()
    time.sleep(0.5)
    sub.disconnect()
    sub.loop_stop()
    cloud = session_client(url, "raw-cloud")
    cloud.loop_start()
    for i in range(n):
        cloud.publish(f"{PREFIX}/cmd/ping", json.dumps({"request_id": f"r{i}"}), qos=1)
    time.sleep(1.0)
    cloud.disconnect()
    cloud.loop_stop()
    done, acked = threading.Event(), [0]

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        c.publish(f"{PREFIX}/cmd-reply", m.payload, qos=1)
        c.ack(m.mid, m.qos)

    def on_publish(c: object, u: object, mid: int, rc: object, p: object) -> None:
        acked[0] += 1
        if acked[0] >= n:
            done.set()

    t0 = time.perf_counter()
    hub = session_client(url, "raw-hub")
    hub.on_message, hub.on_publish = on_message, on_publish
    hub.loop_start()
    done.wait(120)
    dt = time.perf_counter() - t0
    hub.disconnect()
    hub.loop_stop()
    return dt


async def daemon_round(b: Broker, folder: Path, n: int) -> tuple[float, float]:
    """Seconds from `edge run` to the last reply, and from the first reply to the last."""
    config = site_file(folder, b)
    sock = str(folder / "edge.sock")
    argv = [sys.executable, "-m", "edge", "run", "--config", str(config), "--socket", sock]
    sent = [f"q{i}" for i in range(n)]
    quiet = asyncio.subprocess.DEVNULL
    async with tail(b.url, prefix=PREFIX) as t, Cloud(b.url) as cloud:
        first = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stderr=quiet, stdout=quiet)
        client_id = load_site(config).uplink.client_id
        await until(lambda: any(tp == f"{PREFIX}/status" for tp, _ in t.raw), 60, client_id)
        first.terminate()
        await first.wait()
        for rid in sent:
            cloud.send("ping", {"request_id": rid, "args": {}})
        await asyncio.sleep(1.0)  # every command at the broker before the start
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(*argv, cwd=ROOT, stderr=quiet, stdout=quiet)
        try:
            await until(lambda: len(replies(t)) > 0, 60, "a first reply")
            t1 = time.perf_counter()
            await until(lambda: set(sent) <= set(replies(t)), 300, "every reply")
            t2 = time.perf_counter()
        finally:
            proc.terminate()
            await proc.wait()
        in_order = list(replies(t)) == sent
    print(f"daemon: all {n} answered, in order: {in_order}")
    return t2 - t0, t2 - t1


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with broker() as b, tempfile.TemporaryDirectory() as tmp:
        raw = raw_round(b.url, n)
        total, answering = asyncio.run(daemon_round(b, Path(tmp), n))
    print(
        f"command backlog {n}: daemon {total:.1f} s from start ({answering:.1f} s first to "
        f"last reply, {n / answering:.0f} commands/s); raw paho {raw:.2f} s "
        f"({n / raw:.0f} commands/s); daemon/raw {raw / answering:.0%} of the raw rate"
    )


if __name__ == "__main__":
    main()
