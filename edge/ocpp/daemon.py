"""The OCPP endpoint in the daemon: built and listening before the control cycle, its
charge points in `edge devices` / `telemetry/health`, `edge chargers` and the audited
`edge charger reset|unlock` on the local API. Split from edge/runtime.py like
edge/site_access.py; imports the `ocpp` and `websockets` packages only for a site with an
`ocpp` link.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from edge.siteconf.model import LinkType

if TYPE_CHECKING:
    from edge.chargers.site_port import ChargerBackend
    from edge.ocpp.hooks import Authorizes, TracksSessions
    from edge.ocpp.site import OcppSite
    from edge.runtime import Daemon

log = logging.getLogger(__name__)


async def start_ocpp(d: Daemon) -> list[ChargerBackend]:
    """The site's OCPP backends for the charger port (none without an ocpp link)."""
    if not any(link.type is LinkType.OCPP for link in d.config.links):
        return []
    from edge.ocpp.api import register  # noqa: PLC0415
    from edge.ocpp.billing_link import AuthLink, SessionLink  # noqa: PLC0415
    from edge.ocpp.site import OcppSite  # noqa: PLC0415

    site = OcppSite(d.config, d.image, d.clock)
    attach_hooks(site, AuthLink(d.authorizer), SessionLink(d.session_log))
    d.session_log.claim(bay for b in site.backends() for bay in b.bays)  # sent as transactions
    await site.start()
    d.fleet.more_health.append(site.health)
    d.supervisor.start("ocpp", lambda: _refresh(site))
    register(d.api, site, d.bookings.record, d.clock)
    return list(site.backends())


async def _refresh(site: OcppSite) -> None:
    try:
        await site.refresh()
    finally:
        await site.stop()


def attach_hooks(
    site: OcppSite, auth: Authorizes | None = None, sessions: TracksSessions | None = None
) -> None:
    """Where the lead connects edge/auth (`Authorizes`) and the session tracker
    (`TracksSessions`); the charge points connected later use them."""
    if auth is not None:
        site.auth = auth
    if sessions is not None:
        site.sessions = sessions
