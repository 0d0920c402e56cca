"""A fleet of simulated OCPP charge points on one plant, against one CSMS URL.

    fleet = OcppFleet("ws://127.0.0.1:9000/ocpp", plant, clock, configs, step_s=0.2)
    await fleet.start()          # every charge point connecting, the plant stepping
    await fleet.wait_online()    # bounded
    ...
    await fleet.stop()           # every task it started, cancelled and awaited

`cp_configs(site, ...)` makes one `CpConfig` per site charger: identity = the charger's
device id (else the charger id), connectors = its bays by `connector_id`, fallback = the
charger's `fallback_kw`. Tasks are bounded: three per charge point (connection, tick and
meter values, outbox) plus one plant stepper, at most `MAX_CPS` charge points.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from edge.clock import Clock
from edge.sim.ocpp_config import V16, CpConfig, CpFaults
from edge.sim.ocpp_cp import SimChargePoint
from edge.sim.plant import Plant
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)

MAX_CPS = 500
STAGGER_S = 0.005  # between connection starts, so N handshakes do not land at once


def cp_configs(
    site: SiteConfig,
    versions: Mapping[str, str] | None = None,
    passwords: Mapping[str, str] | None = None,
    **common: Any,
) -> list[CpConfig]:
    """One charge point per charger of the site (by identity: version, password); `common`
    sets any other `CpConfig` field for all of them."""
    versions, passwords = versions or {}, passwords or {}
    out = []
    for ch in site.chargers:
        identity = ch.device or ch.id
        connectors = {b.connector_id: b.id for b in site.bays if b.charger == ch.id}
        cfg = CpConfig(
            identity,
            connectors,
            version=versions.get(identity, V16),
            password=passwords.get(identity),
            fallback_w=ch.fallback_kw * 1e3,
        )
        out.append(replace(cfg, **common))
    return out


class OcppFleet:
    def __init__(
        self,
        url: str,
        plant: Plant,
        clock: Clock,
        configs: Sequence[CpConfig],
        step_s: float | None = None,
    ) -> None:
        """`url` ends before the identity (`ws://host:port/ocpp`). With `step_s`, the fleet
        steps the plant itself (leave it None when a `LivePlant` already does)."""
        if len(configs) > MAX_CPS:
            raise ValueError(f"ocpp fleet: {len(configs)} charge points, at most {MAX_CPS}")
        ids = [c.identity for c in configs]
        if len(set(ids)) != len(ids):
            raise ValueError(f"ocpp fleet: identities repeat in {ids}")
        self.plant, self.clock, self.step_s = plant, clock, step_s
        self.cps = {c.identity: SimChargePoint(c, plant, clock, url, CpFaults()) for c in configs}
        self._tasks: list[asyncio.Task[None]] = []

    def __getitem__(self, identity: str) -> SimChargePoint:
        return self.cps[identity]

    async def start(self) -> None:
        if self._tasks:
            raise RuntimeError("ocpp fleet: already started")
        if self.step_s is not None:
            self._tasks.append(asyncio.create_task(self._step_plant(), name="ocpp-sim-plant"))
        for i, cp in enumerate(self.cps.values()):
            self._tasks.append(
                asyncio.create_task(
                    self._run(cp, i * STAGGER_S), name=f"ocpp-sim-{cp.config.identity}"
                )
            )
        log.info("ocpp_fleet_started cps=%d", len(self.cps))

    async def _run(self, cp: SimChargePoint, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        await cp.run()

    async def _step_plant(self) -> None:
        assert self.step_s is not None
        last = self.clock.wall()
        while True:
            await self.clock.sleep(self.step_s)
            now = self.clock.wall()
            self.plant.step(max(0.0, now - last))
            last = now

    def online(self) -> int:
        return sum(cp.station.online for cp in self.cps.values())

    async def wait_online(self, timeout_s: float = 30.0, count: int | None = None) -> None:
        """Until `count` (default: all) charge points have booted; TimeoutError after."""
        want = len(self.cps) if count is None else count
        async with asyncio.timeout(timeout_s):
            while self.online() < want:  # noqa: ASYNC110 (N charge points, no one event)
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("ocpp_fleet_stopped cps=%d", len(self.cps))
