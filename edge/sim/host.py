"""Serves the site's `simulated` links over their real protocol on 127.0.0.1."""

from __future__ import annotations

from edge.clock import Clock
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_client import TcpEndpoint
from edge.sim.modbus_server import SimModbusServer, SimUnit
from edge.sim.models import build_model
from edge.siteconf.model import LinkType, SiteConfig


class SimHost:
    def __init__(self) -> None:
        self.servers: dict[str, SimModbusServer] = {}

    async def start(self, config: SiteConfig, clock: Clock) -> dict[str, TcpEndpoint]:
        catalog = shipped_catalog()
        endpoints: dict[str, TcpEndpoint] = {}
        for link in config.links:
            if link.type is not LinkType.SIMULATED:
                continue
            units = [
                SimUnit(dev.unit, catalog[dev.profile], build_model(dev.sim))
                for dev in config.devices
                if dev.link == link.id and dev.unit is not None
            ]
            server = SimModbusServer(units, clock)
            self.servers[link.id] = server
            endpoints[link.id] = TcpEndpoint("127.0.0.1", await server.start())
        return endpoints

    async def stop(self) -> None:
        for server in self.servers.values():
            await server.stop()
        self.servers.clear()
