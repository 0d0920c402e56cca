"""The whole daemon with an `ocpp` link on 127.0.0.1, a real mosquitto, and simulated charge
points from `OcppFleet` (one 1.6J, one 2.0.1) driven by a plant: sessions reaching the
broker as `events/session` with the meter readings at both ends, a site-limit step applied
as SetChargingProfile, a charger rejecting profiles, a charger dropping its line mid-session,
and the uplink down for the whole run (billing events kept, then delivered, none lost)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.clock import SystemClock
from edge.local_api.client import LocalApiClient
from edge.runtime import Daemon
from edge.sessions import SessionKind
from edge.sim.ocpp_config import V16, V201
from edge.sim.ocpp_fleet import OcppFleet, cp_configs
from edge.sim.ocpp_station import ConnectorSim
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf import load_site
from hil_tests.broker import Broker, free_port
from hil_tests.harness import tail, until
from tests.ocpp_peers import PASSWORD, write_site

pytestmark = pytest.mark.hil
PREFIX = "hubs/t"
FAST = {"tick_s": 0.05, "meter_every_s": 0.5, "backoff_s": (0.1, 0.5), "response_timeout_s": 5.0}
# CP16 has bays B1 (connector 1) and B2 (connector 2); CP201 has B3 (EVSE 1).
WHERE = {"B1": ("CP16", 1), "B2": ("CP16", 2), "B3": ("CP201", 1)}


def truck(tid: str) -> TruckSpec:
    now = SystemClock().wall()
    return TruckSpec(
        tid, SessionKind.BREAK, "CCS", now, now + 2700, 540_000.0, 0.2, 250_000.0, CCS_MAX_W
    )


@dataclass
class Hub:
    daemon: Daemon
    fleet: OcppFleet
    plant: Plant
    sock: Path

    def conn(self, bay: str) -> ConnectorSim:
        identity, connector = WHERE[bay]
        return self.fleet[identity].station.connectors[connector]

    async def api(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await asyncio.to_thread(lambda: LocalApiClient(self.sock).call(method, params))

    async def session(self, bay: str, n: int) -> tuple[str, float]:
        """A truck on `bay` until its transaction id is known: (tx id, start register)."""
        self.plant.arrive(truck(f"T-{bay}-{n}"), bay)
        conn = self.conn(bay)
        await until(lambda: conn.session is not None and conn.session.tx_id, 20, f"tx on {bay}")
        assert conn.session is not None
        assert conn.session.tx_id is not None
        return conn.session.tx_id, conn.session.register_start_wh

    async def leave(self, bay: str) -> float:
        """The truck drives off; waits until the charge point has ended the session."""
        self.plant.depart(bay)
        conn = self.conn(bay)
        await until(lambda: conn.session is None, 20, f"session on {bay} ended")
        return conn.register_wh


@asynccontextmanager
async def hub(tmp_path: Path, broker_url: str) -> AsyncIterator[Hub]:
    port = free_port()
    extra = (  # meter values every 1 s: the charge points do as the edge says at boot
        "meter_values_s = 1\n"
        f'[uplink]\nbroker = "{broker_url}"\nsnapshot_every_s = 1\n'
        "[authorization]\nrequest_timeout_s = 1\noffline_accept_unknown = true\n"
        '[storage]\nstate_dir = "state"\n'
    )
    site_path = write_site(tmp_path, extra)
    site_path.write_text(site_path.read_text().replace("port = 1\n", f"port = {port}\n", 1))
    site = load_site(site_path)
    daemon = Daemon(site, socket_path=tmp_path / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    plant = Plant(
        site.limits, site.chargers, site.bays, site.timezone, SystemClock().wall(), Weather(pv_kw=0)
    )
    configs = cp_configs(
        site, {"CP16": V16, "CP201": V201}, {"CP16": PASSWORD, "CP201": PASSWORD}, **FAST
    )
    fleet = OcppFleet(f"ws://127.0.0.1:{port}/ocpp", plant, SystemClock(), configs, step_s=0.05)
    try:
        await until(lambda: daemon.cycle is not None, 20, "daemon started")
        await fleet.start()
        await fleet.wait_online(20)
        yield Hub(daemon, fleet, plant, tmp_path / "edge.sock")
    finally:
        await fleet.stop()
        daemon.request_stop()
        assert await asyncio.wait_for(runner, 20) == 0


def events(t: Any, stream: str) -> list[dict[str, Any]]:
    return [r["payload"] for r in t.checker.records if r["stream"] == stream]


def by_tx(t: Any, event: str) -> dict[str, dict[str, Any]]:
    return {str(p["transaction_id"]): p for p in events(t, "events/session") if p["event"] == event}


async def rejections(h: Hub) -> dict[str, dict[str, Any]]:
    """`edge chargers` once CP16 has a rejection counted (bounded: 50 reads)."""
    for _ in range(50):
        rows = {c["charger"]: c for c in (await h.api("chargers"))["chargers"]}
        if rows["ch16"]["profiles_rejected"]:
            break
        await asyncio.sleep(0.2)
    return rows


def total_w(h: Hub, bays: list[str]) -> float:
    return sum(h.conn(b).applied_w or 0.0 for b in bays)


async def test_sessions_limit_step_and_a_rejecting_charger(broker: Broker, tmp_path: Path) -> None:
    async with tail(broker.url, prefix=PREFIX) as t, hub(tmp_path, broker.url) as h:
        tx1, start1 = await h.session("B1", 1)  # 1.6J
        tx3, start3 = await h.session("B3", 1)  # 2.0.1
        await until(lambda: {tx1, tx3} <= set(by_tx(t, "started")), 30, "sessions started")
        for tx, start in ((tx1, start1), (tx3, start3)):
            assert by_tx(t, "started")[tx]["meter_start_wh"] == pytest.approx(
                start, abs=1
            )  # whole Wh on the wire
        meter_txs = {str(p["transaction_id"]) for p in events(t, "events/meter-values")}
        await until(
            lambda: (
                {tx1, tx3} <= {str(p["transaction_id"]) for p in events(t, "events/meter-values")}
            ),
            30,
            "meter values of both",
        )
        await until(lambda: total_w(h, ["B1", "B3"]) > 150_000, 30, "both charging")

        # A site-limit step: both charge points get (and apply) profiles within the limit.
        until_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        step = {"node": "grid", "kw": 100, "until": until_at, "reason": "hil step"}
        await h.api("limit-set", step)
        await until(lambda: total_w(h, ["B1", "B3"]) <= 100_000, 15, "the step applied")
        assert h.conn("B1").applied_w
        assert h.conn("B3").applied_w

        # CP16 now rejects profiles: the edge reports it; CP201 still follows the next step.
        h.fleet["CP16"].faults.reject_profiles = True
        b1_before = h.conn("B1").applied_w
        await h.api("limit-set", {**step, "kw": 60})
        await until(lambda: (h.conn("B3").applied_w or 0) <= 30_000, 15, "CP201 follows")
        rows = await rejections(h)
        assert rows["ch16"]["profiles_rejected"] >= 1, rows["ch16"]
        assert rows["ch201"]["profiles_rejected"] == 0, rows["ch201"]
        assert h.conn("B1").applied_w == b1_before  # nothing it rejected was applied
        h.fleet["CP16"].faults.reject_profiles = False

        stop1, stop3 = await h.leave("B1"), await h.leave("B3")
        await until(lambda: {tx1, tx3} <= set(by_tx(t, "ended")), 30, "sessions ended")
        for tx, start, stop in ((tx1, start1, stop1), (tx3, start3, stop3)):
            ended = by_tx(t, "ended")[tx]
            assert ended["meter_start_wh"] == pytest.approx(start, abs=1)  # whole Wh on the wire
            assert ended["meter_stop_wh"] == pytest.approx(stop, abs=1)
            assert ended["energy_wh"] == pytest.approx(stop - start, abs=2)
            assert stop > start
        assert meter_txs <= {tx1, tx3}
        assert t.checker.event_losses() == 0


async def test_uplink_down_and_a_dropped_line_lose_no_billing_event(
    broker: Broker, tmp_path: Path
) -> None:
    """The tail's persistent session is made, then the broker stops: the hub runs its
    sessions with no uplink at all, CP16 loses its line mid-session (its meter values and
    stop queued on the charge point), and every session reaches the cloud once the broker
    is back."""
    async with tail(broker.url, prefix=PREFIX) as t:
        broker.stop()
        async with hub(tmp_path, broker.url) as h:
            seen: dict[str, tuple[float, float]] = {}  # tx -> (start, stop) as the CPs saw
            for n, bay in enumerate(("B1", "B3", "B1"), 1):
                tx, start = await h.session(bay, n)
                await until(lambda b=bay: (h.conn(b).applied_w or 0) > 0, 20, f"{bay} charging")
                seen[tx] = (start, await h.leave(bay))
            cp16 = h.fleet["CP16"]
            tx2, start = await h.session("B2", 9)
            await until(lambda: h.conn("B2").register_wh > start, 20, "B2 charging")
            cp16.disconnect(hold=True)
            await until(lambda: not cp16.station.online, 20, "CP16 offline")
            sent_before = cp16.sent_ok
            queued = len(cp16.station.outbox)
            await until(lambda: len(cp16.station.outbox) > queued, 20, "meter values queued")
            seen[tx2] = (start, await h.leave("B2"))  # the stop is queued too
            assert cp16.sent_ok == sent_before  # nothing went out while the line was down
            cp16.reconnect()
            await until(lambda: not cp16.station.outbox, 30, "CP16's queue delivered")
            assert not t.checker.records  # the uplink was down the whole time
            broker.start()
            await until(lambda: set(seen) <= set(by_tx(t, "ended")), 60, "every session ended")
            started, ended = by_tx(t, "started"), by_tx(t, "ended")
            assert set(started) == set(ended) == set(seen)
            for tx, (start, stop) in seen.items():
                assert ended[tx]["meter_start_wh"] == pytest.approx(start, abs=1)
                assert ended[tx]["meter_stop_wh"] == pytest.approx(stop, abs=1)
            offline_tx = {str(p["transaction_id"]) for p in events(t, "events/meter-values")}
            assert tx2 in offline_tx  # B2's meter values from the queue reached the cloud
            assert t.checker.event_losses() == 0
