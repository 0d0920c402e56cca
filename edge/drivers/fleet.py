"""Builds the site's links and devices from the config and reports their health.

`simulated` links are served by `edge.sim.host` on 127.0.0.1 over the real protocol; this
module is handed their resolved endpoints and treats them like any other link.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.clock import Clock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.line_capacity import utilisation
from edge.drivers.line_plan import framing_of
from edge.drivers.modbus_client import ModbusClient, SerialLine, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.profile import Profile
from edge.drivers.sunspec_device import SunSpecDevice
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.process_image import ProcessImage
from edge.siteconf.model import Link, LinkType, SiteConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    run: Callable[[], Awaitable[None]]
    vital: bool


class Fleet:
    def __init__(
        self, links: dict[str, ModbusLink], devices: list[ModbusDevice | SunSpecDevice]
    ) -> None:
        self.links = links
        self.devices = devices

    def tasks(self) -> list[TaskSpec]:
        specs = [TaskSpec(f"link:{lid}", link.run, vital=False) for lid, link in self.links.items()]
        specs += [TaskSpec(f"device:{d.id}", d.run, vital=False) for d in self.devices]
        return specs

    def health(self, now: float) -> list[dict[str, Any]]:
        rows = []
        for d in self.devices:
            unit = d.link.unit_health(d.unit)
            rows.append(
                {
                    "device": d.id,
                    "profile": d.profile.id,
                    "link": d.link.id,
                    "endpoint": d.link.describe(),
                    "unit": d.unit,
                    "state": d.health.state,
                    "polls": d.health.polls,
                    "failures": d.health.failures,
                    "timeouts": unit.timeouts,
                    "rejected": unit.rejected,
                    "invalid_values": d.health.invalid_values,
                    "last_ok_age_s": None
                    if d.health.last_ok_at is None
                    else round(now - d.health.last_ok_at, 3),
                    "last_error": d.health.last_error,
                }
            )
        return rows

    def link_stats(self) -> list[dict[str, Any]]:
        return [
            {
                "link": lid,
                "endpoint": lk.describe(),
                "connected": lk.connected,
                "requests": lk.stats.requests,
                "reconnects": lk.stats.reconnects,
                "utilisation": round(lk.utilisation(), 4),
                "planned_utilisation": self.planned_utilisation(lid),
            }
            for lid, lk in self.links.items()
        ]

    def planned_utilisation(self, link_id: str) -> float | None:
        """Share of an RS-485 line the poll plan needs (None for links without a baud rate)."""
        framing = self.links[link_id].framing
        if framing is None:
            return None
        plan = [tx for d in self.devices if d.link.id == link_id for tx in d.plan()]
        return round(utilisation(framing, plan), 4)


def _client_for(link: Link, endpoints: Mapping[str, TcpEndpoint]) -> ModbusClient | None:
    params = link.params
    if link.type is LinkType.SIMULATED:
        endpoint = endpoints.get(link.id)
        if endpoint is None:
            raise RuntimeError(f"link {link.id}: simulated link has no running simulator")
        return ModbusClient(endpoint, link.timeout_s)
    if link.type is LinkType.MODBUS_TCP:
        return ModbusClient(TcpEndpoint(str(params["host"]), int(params["port"])), link.timeout_s)
    if link.type is LinkType.MODBUS_RTU:
        framing = framing_of(params)
        line = SerialLine(str(params["port"]), framing.baud, framing.parity, framing.stopbits)
        return ModbusClient(line, link.timeout_s)
    return None  # CAN, OCPP and GPIO links are served by their own issues' drivers


def _site_startup(config: SiteConfig, device_id: str, profile: Profile) -> dict[str, float]:
    """Site values a device must hold from the start: a charger cabinet's fallback power."""
    names = {p.name for p in profile.points if p.writable}
    for charger in config.chargers:
        if charger.device == device_id and "fallback_power_w" in names:
            return {"fallback_power_w": charger.fallback_kw * 1000.0}
    return {}


def build_fleet(
    config: SiteConfig, image: ProcessImage, clock: Clock, endpoints: Mapping[str, TcpEndpoint]
) -> Fleet:
    catalog = shipped_catalog()
    links: dict[str, ModbusLink] = {}
    for link in config.links:
        client = _client_for(link, endpoints)
        if client is None:
            log.warning("link_not_supported_yet link=%s type=%s", link.id, link.type.value)
            continue
        framing = framing_of(link.params) if link.type is LinkType.MODBUS_RTU else None
        links[link.id] = ModbusLink(link.id, client, clock, framing=framing)
    devices: list[ModbusDevice | SunSpecDevice] = []
    for dev in config.devices:
        if dev.link not in links or dev.unit is None:
            continue
        profile = catalog[dev.profile]
        if isinstance(profile, SunSpecProfile):
            devices.append(
                SunSpecDevice(dev.id, dev.unit, profile, links[dev.link], image, clock, dev.poll_s)
            )
        else:
            startup = _site_startup(config, dev.id, profile)
            devices.append(
                ModbusDevice(
                    dev.id, dev.unit, profile, links[dev.link], image, clock, dev.poll_s, startup
                )
            )
    fleet = Fleet(links, devices)
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
