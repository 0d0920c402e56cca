"""Builds the site's links and devices from the config and reports their health.

`simulated` links are served by `edge.sim.host` on 127.0.0.1 over the real protocol; this
module is handed their resolved endpoints and treats them like any other link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.clock import Clock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import ModbusClient, SerialLine, TcpEndpoint
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_link import ModbusLink
from edge.process_image import ProcessImage
from edge.siteconf.model import Link, LinkType, SiteConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    run: Callable[[], Awaitable[None]]
    vital: bool


class Fleet:
    def __init__(self, links: dict[str, ModbusLink], devices: list[ModbusDevice]) -> None:
        self.links = links
        self.devices = devices

    def tasks(self) -> list[TaskSpec]:
        specs = [TaskSpec(f"link:{lid}", link.run, vital=False) for lid, link in self.links.items()]
        specs += [TaskSpec(f"device:{d.id}", d.run, vital=False) for d in self.devices]
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
            }
            for lid, lk in self.links.items()
        ]


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
        line = SerialLine(
            str(params["port"]),
            int(params["baud"]),
            str(params.get("parity", "E")),
            int(params.get("stopbits", 1)),
        )
        return ModbusClient(line, link.timeout_s)
    return None  # CAN, OCPP and GPIO links are served by their own issues' drivers


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
        links[link.id] = ModbusLink(link.id, client, clock)
    devices = []
    for dev in config.devices:
        if dev.link not in links or dev.unit is None:
            continue
        devices.append(
            ModbusDevice(
                dev.id, dev.unit, catalog[dev.profile], links[dev.link], image, clock, dev.poll_s
            )
        )
    return Fleet(links, devices)
