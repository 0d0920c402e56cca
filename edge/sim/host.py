"""Serves the site's `simulated` links over their real protocol on 127.0.0.1."""

from __future__ import annotations

from edge.clock import Clock
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import AnyProfile, shipped_catalog
from edge.drivers.gpio_profile import GpioProfile
from edge.drivers.modbus_client import TcpEndpoint
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import build_model, power_function, rated_w
from edge.sim.sim_unit import ServedUnit, SimUnit
from edge.sim.sunspec_sim import IEEE1547, LEGACY, SunSpecSimUnit
from edge.siteconf.model import Device, LinkType, SiteConfig


def sim_unit(device: Device, unit: int, profile: AnyProfile) -> ServedUnit:
    """A simulated unit for a site device, from its profile and its `sim` table."""
    if isinstance(profile, SunSpecProfile):
        models = LEGACY if device.sim.get("sunspec") == "legacy" else IEEE1547
        return SunSpecSimUnit(unit, power_function(device.sim), rated_w(device.sim), models=models)
    if isinstance(profile, CanProfile | GpioProfile):
        raise ValueError(f"device {device.id}: {profile.protocol} devices are not Modbus units")
    return SimUnit(unit, profile, build_model(device.sim, profile.kind))


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
                sim_unit(dev, dev.unit, catalog[dev.profile])
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
