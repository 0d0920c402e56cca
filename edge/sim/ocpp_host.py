"""The simulated site's OCPP charge points: on a site with `simulated` links (the demo),
every charger device on an `ocpp` link is a simulated charge point (`edge.sim.ocpp_cp`) on
the live plant, connecting to the daemon's own endpoint over loopback like a charger on
the site LAN would: same URL, same HTTP Basic password (from the link's secrets file),
OCPP 1.6J unless its device says `sim = { ocpp = "2.0.1" }`.

The plant is the one the Modbus devices read (`edge.sim.host.LivePlant`): a charge point
starts a session when a truck arrives on its bay and writes the limit its profiles allow
to the bay, so the trucks draw what the profiles allow and the grid meter sees it. The
LivePlant steps the plant; the fleets only run the charge points.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from edge.clock import Clock
from edge.ocpp.secrets import SecretsError, load_secrets
from edge.ocpp.settings import settings_of
from edge.sim.ocpp_config import V16
from edge.sim.ocpp_fleet import OcppFleet, cp_configs
from edge.sim.plant import Plant
from edge.siteconf.model import LinkType, SiteConfig

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 5.0)  # reconnection: a demo daemon restarting is back within seconds
ANY_ADDRESS = ("0.0.0.0", "::", "")  # noqa: S104 (what a listener's host may say; we dial loopback)


def ocpp_chargers(config: SiteConfig) -> set[str]:
    """The ids of the chargers whose device is on an `ocpp` link."""
    ocpp_links = {link.id for link in config.links if link.type is LinkType.OCPP}
    devices = {d.id for d in config.devices if d.link in ocpp_links}
    return {c.id for c in config.chargers if c.device in devices}


def ocpp_fleets(config: SiteConfig, plant: Plant, clock: Clock) -> list[OcppFleet]:
    """One fleet per `ocpp` link with chargers on it, not started."""
    fleets = []
    for link in config.links:
        if link.type is not LinkType.OCPP:
            continue
        settings = settings_of(link, config.path.parent)
        devices = {d.id: d for d in config.devices if d.link == link.id}
        versions = {i: str(d.sim.get("ocpp", V16)) for i, d in devices.items()}
        configs = [
            c
            for c in cp_configs(
                config,
                versions,
                _passwords(settings.secrets_file, link.id),
                meter_every_s=settings.meter_values_s,  # until the daemon sets it at boot
                heartbeat_s=float(settings.heartbeat_s),
                backoff_s=BACKOFF_S,
            )
            if c.identity in devices
        ]
        if not configs:
            continue
        host = "127.0.0.1" if settings.host in ANY_ADDRESS else settings.host
        scheme = "wss" if settings.tls else "ws"  # wss: not simulated, the handshake fails
        fleets.append(OcppFleet(f"{scheme}://{host}:{settings.port}/ocpp", plant, clock, configs))
        log.info(
            "sim_ocpp_charge_points link=%s cps=%d versions=%s",
            link.id,
            len(configs),
            ",".join(f"{c.identity}:{c.version}" for c in configs),
        )
    return fleets


def _passwords(path: Path, link: str) -> Mapping[str, str]:
    """The charge points' passwords; none when the file is unusable (the daemon then refuses
    every charge point, as it would real ones, and says why)."""
    try:
        return load_secrets(path)
    except SecretsError as exc:
        log.warning("sim_ocpp_no_passwords link=%s error=%s", link, exc)
        return {}
