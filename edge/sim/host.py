"""Serves the site's `simulated` links over their real protocol on 127.0.0.1, with every
simulated device reading from one closed-loop plant (`edge.sim.plant`): the node meters see
base load + charging - solar - wind, the charger cabinets take a setpoint per connector,
and seeded trucks come and go in real time (lunchtime and evening rushes, overnight stays).
The chargers on an `ocpp` link are simulated OCPP charge points on the same plant
(`edge.sim.ocpp_host`), started once the daemon's OCPP endpoint listens (`start_ocpp`).
So that a demo shows trucks arriving and sharing at once whatever the hour, the bays start
empty and the day's next break trucks (one per bay) are brought forward to arrive in the
first half-minute, one every `OPENING_EVERY_S`; the seeded day goes on from there. A
charger with no simulated device is uncontrolled: it gives its trucks all they accept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from edge.clock import Clock
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import AnyProfile, shipped_catalog
from edge.drivers.gpio_profile import GpioProfile
from edge.drivers.modbus_client import TcpEndpoint
from edge.drivers.modbus_profile import Profile
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.sessions import SessionKind
from edge.sim.gate_arrivals import Arrivals, Book, PortOf
from edge.sim.gate_plant import GatePlant
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import build_model, power_function, rated_w
from edge.sim.ocpp_fleet import OcppFleet
from edge.sim.ocpp_host import ocpp_chargers, ocpp_fleets
from edge.sim.plant import Plant, Weather
from edge.sim.plant_models import PlantCabinet, generation_meter, node_meter
from edge.sim.sim_unit import Model, ServedUnit, SimUnit
from edge.sim.sunspec_sim import IEEE1547, LEGACY, SunSpecSimUnit
from edge.sim.traffic import Traffic
from edge.sim.trucks import TruckSpec, day_arrivals
from edge.siteconf.model import Device, LinkType, SiteConfig

log = logging.getLogger(__name__)

# The plant's step in the demo. Fine, because devices are polled at different moments of a
# period: with 1 s steps a meter and a cabinet read a step apart disagreed by a whole step of
# ramping (up to 200 kW on the demo), the budget swung and the grid went up to 26 % over.
STEP_S = 0.2
OPENING_FIRST_S = 2.0  # the first brought-forward truck arrives this long after the start
OPENING_EVERY_S = 6.0  # and the next ones this far apart


def sim_unit(
    device: Device, unit: int, profile: AnyProfile, site: LivePlant | None = None
) -> ServedUnit:
    """A simulated unit for a site device, from its profile and its `sim` table; with a
    plant, what the device stands for in the plant (a node meter, solar, wind, a cabinet)."""
    if isinstance(profile, SunSpecProfile):
        models = LEGACY if device.sim.get("sunspec") == "legacy" else IEEE1547
        power = power_function(device.sim)
        if site is not None and device.role in ("pv", "wind"):
            plant, role = site.plant, device.role
            power = (lambda t: plant.wind_w) if role == "wind" else (lambda t: plant.solar_w)
        return SunSpecSimUnit(unit, power, rated_w(device.sim), models=models)
    if isinstance(profile, CanProfile | GpioProfile):
        raise ValueError(f"device {device.id}: {profile.protocol} devices are not Modbus units")
    model = site.model_for(device, profile) if site is not None else None
    return SimUnit(unit, profile, model or build_model(device.sim, profile.kind))


def _weather(config: SiteConfig) -> Weather:
    """From the `sim` table of the site's `grid` model meter, when there is one."""
    params: Mapping[str, Any] = next(
        (d.sim for d in config.devices if d.sim.get("model") == "grid"), {}
    )

    def num(key: str, default: float) -> float:
        v = params.get(key, default)
        return float(v) if isinstance(v, int | float) else default

    return Weather(
        num("base_kw", 400.0), num("peak_kw", 600.0), num("pv_kw", 0.0), num("wind_kw", 0.0)
    )


def opening(
    trucks: tuple[TruckSpec, ...], now: float, count: int, connectors: set[str]
) -> tuple[TruckSpec, ...]:
    """The `trucks` due after `now`, the next `count` break trucks among them (on a connector
    the site has) brought forward to arrive from `now + OPENING_FIRST_S`, each keeping its
    stay. Trucks due before `now` are left out: the bays start empty."""
    due_later = sorted((t for t in trucks if t.arrive > now), key=lambda t: (t.arrive, t.id))
    due = [t for t in due_later if t.kind is SessionKind.BREAK]
    chosen = [t for t in due if t.connector in connectors][:count]
    moved = {t.id for t in chosen}
    early = []
    for i, t in enumerate(chosen):
        at = now + OPENING_FIRST_S + i * OPENING_EVERY_S
        early.append(replace(t, arrive=at, leave=at + (t.leave - t.arrive)))
    return tuple(t for t in due_later if t.id not in moved) + tuple(early)


class LivePlant:
    """The plant in real time: stepped every `STEP_S` by the clock, trucks from a seeded day."""

    def __init__(self, config: SiteConfig, clock: Clock, seed: int = 1) -> None:
        self.config, self.clock = config, clock
        now = clock.wall()
        self.plant = Plant(
            config.limits, config.chargers, config.bays, config.timezone, now, _weather(config)
        )
        trucks = tuple(  # today's and tomorrow's: the opening may reach past midnight
            replace(t, id=f"{day}-{t.id}")
            for day, when in (("D1", now), ("D2", now + 86_400.0))
            for t in day_arrivals(seed, when, config.timezone)
        )
        connectors = {b.connector.value for b in config.bays}
        trucks = opening(trucks, now, len(config.bays), connectors)
        self.traffic = Traffic(self.plant, trucks, seed)
        self._meters = {n.meter: n.id for n in config.limits if n.meter is not None}
        self._driven = ocpp_chargers(config)  # chargers a simulated device drives (+ Modbus)
        self.gates = GatePlant(config.gates)  # barriers and trucks behind `gate` I/O units

    def model_for(self, device: Device, profile: Profile) -> Model | None:
        if device.sim.get("model") == "gate":
            return self.gates.model_for(device.id)
        if device.id in self._meters:
            return node_meter(self.plant, self._meters[device.id])
        if device.role in ("pv", "wind"):
            return generation_meter(self.plant, device.role)
        chargers = [c for c in self.config.chargers if c.device == device.id]
        if profile.kind != "charger" or not chargers:
            return None
        self._driven.update(c.id for c in chargers)
        ids = {c.id for c in chargers}
        bays = {b.connector_id: b.id for b in self.config.bays if b.charger in ids}
        return PlantCabinet(self.plant, profile, bays)

    def release_uncontrolled(self) -> None:
        """Chargers no simulated device drives: nobody limits them, they give all they can."""
        for sim in self.plant.bays.values():
            if sim.charger.id not in self._driven:
                self.plant.write(sim.bay.id, sim.max_w)

    async def run(self) -> None:
        last = self.clock.wall()
        while True:
            self.traffic.due(self.clock.wall())
            await self.clock.sleep(STEP_S)
            now = self.clock.wall()
            self.plant.step(max(0.0, now - last))
            self.gates.step(now)
            last = now


class SimHost:
    def __init__(self) -> None:
        self.servers: dict[str, SimModbusServer] = {}
        self.live: LivePlant | None = None
        self.ocpp: list[OcppFleet] = []  # the OCPP charge points, by link
        self._task: asyncio.Task[None] | None = None
        self._arrivals: asyncio.Task[None] | None = None

    def start_arrivals(self, config: SiteConfig, clock: Clock, book: Book, port_of: PortOf) -> None:
        """Trucks at the gates (edge/sim/gate_arrivals.py), on a site whose gate I/O is the
        simulated `gate` model; called once the lanes and their ANPR endpoints exist."""
        gated = any(d.sim.get("model") == "gate" for d in config.devices)
        if self.live is None or not gated or not config.gates:
            return
        arrivals = Arrivals(self.live.gates, config.gates, clock, book, port_of)
        self._arrivals = asyncio.create_task(arrivals.run(), name="sim-gate-arrivals")
        log.info("sim_gate_arrivals_started lanes=%d", len(config.gates))

    async def start(self, config: SiteConfig, clock: Clock) -> dict[str, TcpEndpoint]:
        catalog = shipped_catalog()
        self.live = LivePlant(config, clock)
        endpoints: dict[str, TcpEndpoint] = {}
        for link in config.links:
            if link.type is not LinkType.SIMULATED:
                continue
            units = [
                sim_unit(dev, dev.unit, catalog[dev.profile], self.live)
                for dev in config.devices
                if dev.link == link.id and dev.unit is not None
            ]
            server = SimModbusServer(units, clock)
            self.servers[link.id] = server
            endpoints[link.id] = TcpEndpoint("127.0.0.1", await server.start())
        self.ocpp = ocpp_fleets(config, self.live.plant, clock)
        self.live.release_uncontrolled()
        self._task = asyncio.create_task(self.live.run(), name="sim-plant")
        log.info(
            "sim_plant_started bays=%d trucks_due=%d",
            len(config.bays),
            len(self.live.traffic.arrivals),
        )
        return endpoints

    async def start_ocpp(self) -> None:
        """The OCPP charge points connect; once the endpoint listens (till then their
        sessions would run on their offline fallback)."""
        for fleet in self.ocpp:
            await fleet.start()

    async def stop(self) -> None:
        for fleet in self.ocpp:
            await fleet.stop()
        for task in (self._arrivals, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._arrivals = None
        for server in self.servers.values():
            await server.stop()
        self.servers.clear()
