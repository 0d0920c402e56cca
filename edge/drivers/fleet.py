"""Builds the site's links and devices from the config and reports their health.

`simulated` links are served by `edge.sim.host` on 127.0.0.1 over the real protocol; this
module is handed their resolved endpoints and treats them like any other link.

Each protocol's driver modules (and so its library: pymodbus, python-can, gpiozero) are
imported only when the site has a link of that type: a Modbus-only site starts without the
CAN and GPIO stacks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from edge.clock import Clock
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import AnyProfile, shipped_catalog
from edge.drivers.gpio_profile import GpioProfile
from edge.drivers.line_capacity import utilisation
from edge.drivers.line_plan import describe, framing_of
from edge.drivers.modbus_profile import Profile
from edge.drivers.phase_lock import PhaseLock, phase_lock
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.process_image import ProcessImage
from edge.readings import Reading
from edge.siteconf.model import Device, Link, LinkType, SiteConfig

if TYPE_CHECKING:
    from edge.drivers.can_device import CanDevice
    from edge.drivers.can_link import CanLink
    from edge.drivers.gpio_device import GpioDevice, GpioLink
    from edge.drivers.modbus_client import TcpEndpoint
    from edge.drivers.modbus_device import ModbusDevice
    from edge.drivers.modbus_link import ModbusLink
    from edge.drivers.sunspec_device import SunSpecDevice

    AnyDevice: TypeAlias = ModbusDevice | SunSpecDevice | CanDevice | GpioDevice
    AnyLink: TypeAlias = ModbusLink | CanLink | GpioLink

log = logging.getLogger(__name__)
MODBUS_LINKS = (LinkType.SIMULATED, LinkType.MODBUS_TCP, LinkType.MODBUS_RTU)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    run: Callable[[], Awaitable[None]]
    vital: bool


class Fleet:
    def __init__(
        self,
        links: Mapping[str, AnyLink],
        devices: list[AnyDevice],
        image: ProcessImage | None = None,
        phase_lock: PhaseLock | None = None,
    ) -> None:
        self.links = dict(links)
        self.devices = devices
        self._image = image
        # Reads the chargers right before their node meters (edge/drivers/phase_lock.py).
        self.phase_lock = phase_lock
        # Devices served elsewhere report here too (OCPP charge points: edge/ocpp/site.py).
        self.more_health: list[Callable[[float], list[dict[str, Any]]]] = []

    def device(self, device_id: str) -> AnyDevice:
        return next(d for d in self.devices if d.id == device_id)

    def tasks(self) -> list[TaskSpec]:
        specs = [TaskSpec(f"link:{lid}", link.run, vital=False) for lid, link in self.links.items()]
        specs += [TaskSpec(f"device:{d.id}", d.run, vital=False) for d in self.devices]
        if self.phase_lock is not None:
            specs.append(TaskSpec("reads:phase-lock", self.phase_lock.run, vital=False))
        return specs

    async def first_poll(self, timeout_s: float) -> None:
        """Wait (bounded) until every device has tried its first poll, so the first control
        cycle sees data rather than starting blind when it need not."""
        waits = [asyncio.create_task(d.first_poll_done.wait()) for d in self.devices]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout_s)
            for task in pending:
                task.cancel()

    def health(self, now: float) -> list[dict[str, Any]]:
        """Per device: link, health, error counts, and every last value with its age."""
        snapshot = self._image.freeze(now, 0.0) if self._image is not None else None
        rows = []
        for d in self.devices:
            unit = getattr(d, "unit", None)
            unit_health = getattr(d.link, "unit_health", None)  # Modbus links count per unit
            counts = unit_health(unit) if unit_health is not None and unit else None
            values: Mapping[str, Reading] = (
                snapshot.points.get(d.id, {}) if snapshot is not None else {}
            )
            rows.append(
                {
                    "device": d.id,
                    "profile": d.profile.id,
                    "protocol": d.profile.protocol,
                    "link": d.link.id,
                    "endpoint": d.link.describe(),
                    "unit": unit,
                    "state": d.health.state,
                    "polls": d.health.polls,
                    "failures": d.health.failures,
                    "timeouts": counts.timeouts if counts else 0,
                    "rejected": counts.rejected if counts else 0,
                    "invalid_values": d.health.invalid_values,
                    "writes": d.health.writes,
                    "write_failures": d.health.write_failures,
                    "last_ok_age_s": None
                    if d.health.last_ok_at is None
                    else round(now - d.health.last_ok_at, 3),
                    "poll_age_s": round(d.poll_age(now), 3),
                    "polls_stalled": d.polls_stalled(now),
                    "last_error": d.health.last_error,
                    "values": {
                        name: [r.value, r.unit, r.quality.value, round(r.age(now), 3)]
                        for name, r in values.items()
                    },
                }
            )
        return rows + [row for more in self.more_health for row in more(now)]

    def link_stats(self) -> list[dict[str, Any]]:
        rows = []
        for lid, lk in self.links.items():
            row: dict[str, Any] = {
                "link": lid,
                "endpoint": lk.describe(),
                "connected": lk.connected,
                "utilisation": round(lk.utilisation(), 4),
                "planned_utilisation": self.planned_utilisation(lid),
                "line": describe(lk.framing) if lk.framing is not None else None,
            }
            rows.append(row | lk.counters())
        return rows

    def planned_utilisation(self, link_id: str) -> float | None:
        """Share of an RS-485 line the poll plan needs (None for links without a baud rate)."""
        link = self.links[link_id]
        if link.framing is None:
            return None
        plan = [
            tx
            for d in self.devices
            if d.link.id == link_id and hasattr(d, "plan")  # Modbus and SunSpec devices
            for tx in d.plan()
        ]
        return round(utilisation(link.framing, plan), 4)


def _modbus_link(link: Link, clock: Clock, endpoints: Mapping[str, TcpEndpoint]) -> ModbusLink:
    from edge.drivers.modbus_client import ModbusClient, SerialLine, TcpEndpoint  # noqa: PLC0415
    from edge.drivers.modbus_link import ModbusLink  # noqa: PLC0415 (pymodbus when used)

    params = link.params
    if link.type is LinkType.SIMULATED:
        endpoint = endpoints.get(link.id)
        if endpoint is None:
            raise RuntimeError(f"link {link.id}: simulated link has no running simulator")
        return ModbusLink(link.id, ModbusClient(endpoint, link.timeout_s), clock)
    if link.type is LinkType.MODBUS_TCP:
        endpoint = TcpEndpoint(str(params["host"]), int(params["port"]))
        return ModbusLink(link.id, ModbusClient(endpoint, link.timeout_s), clock)
    framing = framing_of(params)
    line = SerialLine(str(params["port"]), framing.baud, framing.parity, framing.stopbits)
    return ModbusLink(link.id, ModbusClient(line, link.timeout_s), clock, framing=framing)


def _links(
    config: SiteConfig, clock: Clock, endpoints: Mapping[str, TcpEndpoint]
) -> dict[str, AnyLink]:
    links: dict[str, AnyLink] = {}
    for link in config.links:
        if link.type in MODBUS_LINKS:
            links[link.id] = _modbus_link(link, clock, endpoints)
        elif link.type is LinkType.CAN:
            links[link.id] = _can_link(link, clock)
        elif link.type is LinkType.GPIO:
            from edge.drivers.gpio_device import GpioLink  # noqa: PLC0415 (gpiozero when used)

            links[link.id] = GpioLink(link.id)
        else:
            log.info("link_served_elsewhere link=%s type=%s", link.id, link.type.value)
    return links


def _can_link(link: Link, clock: Clock) -> CanLink:
    from edge.drivers.can_bus import CanBus  # noqa: PLC0415 (python-can when used)
    from edge.drivers.can_link import CanLink  # noqa: PLC0415

    bitrate = link.params.get("bitrate")
    bus = CanBus(
        str(link.params.get("interface", "socketcan")),
        str(link.params["channel"]),
        int(bitrate) if bitrate is not None else None,
    )
    return CanLink(link.id, bus, clock)


def _site_startup(config: SiteConfig, device_id: str, profile: Profile) -> dict[str, float]:
    """Site values a device must hold from the start: a charger cabinet's fallback power."""
    names = {p.name for p in profile.points if p.writable}
    for charger in config.chargers:
        if charger.device == device_id and "fallback_power_w" in names:
            return {"fallback_power_w": charger.fallback_kw * 1000.0}
    return {}


def _device(
    config: SiteConfig,
    dev: Device,
    profile: AnyProfile,
    link: AnyLink,
    image: ProcessImage,
    clock: Clock,
) -> AnyDevice | None:
    """The driver for a device, or None for a pairing no driver serves; each protocol's
    modules are imported here, when a site has such a device."""
    kind = config.link(dev.link).type
    if isinstance(profile, CanProfile):
        if kind is not LinkType.CAN:
            return None
        from edge.drivers.can_device import CanDevice  # noqa: PLC0415

        return CanDevice(dev.id, profile, cast("CanLink", link), image, clock)
    if isinstance(profile, GpioProfile):
        if kind is not LinkType.GPIO:
            return None
        from edge.drivers.gpio_device import GpioDevice  # noqa: PLC0415

        return GpioDevice(dev.id, profile, cast("GpioLink", link), image, clock)
    if kind not in MODBUS_LINKS or dev.unit is None:
        return None
    modbus = cast("ModbusLink", link)
    if isinstance(profile, SunSpecProfile):
        from edge.drivers.sunspec_device import SunSpecDevice  # noqa: PLC0415

        return SunSpecDevice(dev.id, dev.unit, profile, modbus, image, clock, dev.poll_s)
    from edge.drivers.modbus_device import ModbusDevice  # noqa: PLC0415

    startup = _site_startup(config, dev.id, profile)
    return ModbusDevice(dev.id, dev.unit, profile, modbus, image, clock, dev.poll_s, startup)


def build_fleet(
    config: SiteConfig, image: ProcessImage, clock: Clock, endpoints: Mapping[str, TcpEndpoint]
) -> Fleet:
    catalog = shipped_catalog()
    links = _links(config, clock, endpoints)
    devices: list[AnyDevice] = []
    for dev in config.devices:
        if config.link(dev.link).type is LinkType.OCPP:
            continue  # a charge point connects to us: edge/ocpp/ serves it
        link = links.get(dev.link)
        built = (
            None if link is None else _device(config, dev, catalog[dev.profile], link, image, clock)
        )
        if built is None:
            log.warning(
                "device_not_driven device=%s profile=%s link=%s: no driver for this pairing",
                dev.id,
                dev.profile,
                dev.link,
            )
            continue
        devices.append(built)
    fleet = Fleet(links, devices, image, phase_lock(config, devices, clock))
    for link_id in links:
        planned = fleet.planned_utilisation(link_id)
        if planned is not None and planned > 1.0:
            log.warning(
                "line_overloaded link=%s planned_utilisation=%.2f: the poll plan needs more "
                "than the line carries; periods will stretch",
                link_id,
                planned,
            )
    return fleet
