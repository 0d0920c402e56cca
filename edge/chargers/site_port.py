"""All of a site's chargers behind one port: setpoints split by charger, written to
different chargers at once, and one result in the order asked.

`site_port(config, devices)` builds it from the site and the fleet's devices: one backend
per charger that has a device (`chargers[].device`), its bays by `bays[].connector_id`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Protocol, cast

from edge.chargers.device_charger import BayConnector, DeviceCharger, WritingDevice
from edge.chargers.port import ApplyResult, BayStatus, BayWrite, ChargerPort, Outcome
from edge.readings import Snapshot
from edge.siteconf.model import SiteConfig

log = logging.getLogger(__name__)


class ChargerBackend(ChargerPort, Protocol):
    @property
    def bays(self) -> Mapping[str, object]: ...


class SitePort:
    def __init__(self, backends: Iterable[ChargerBackend]) -> None:
        self.backends = tuple(backends)
        self._owner = {bay: b for b in self.backends for bay in b.bays}

    async def apply(self, setpoints: Mapping[str, float]) -> ApplyResult:
        parts: dict[int, dict[str, float]] = {}
        orphans: dict[str, BayWrite] = {}
        for bay, power_w in setpoints.items():
            owner = self._owner.get(bay)
            if owner is None:
                why = f"bay {bay}: no charger backend drives it (charger without a device?)"
                orphans[bay] = BayWrite(bay, power_w, Outcome.FAILED, why)
            else:
                parts.setdefault(id(owner), {})[bay] = power_w
        backends = {id(b): b for b in self.backends}
        results = await asyncio.gather(*(backends[k].apply(v) for k, v in parts.items()))
        done = {w.bay: w for r in results for w in r.writes} | orphans
        return ApplyResult(tuple(done[bay] for bay in setpoints))

    def states(self, snapshot: Snapshot) -> tuple[BayStatus, ...]:
        return tuple(s for b in self.backends for s in b.states(snapshot))


def site_port(
    config: SiteConfig, devices: Mapping[str, object], extra: Iterable[ChargerBackend] = ()
) -> SitePort:
    """`extra`: backends built elsewhere (OCPP charge points, edge/ocpp/site.py)."""
    backends: list[ChargerBackend] = list(extra)
    for charger in config.chargers:
        device = devices.get(charger.device or "")
        if device is None:
            continue
        if not callable(getattr(device, "write_point", None)) or not hasattr(device, "profile"):
            log.warning(
                "charger_not_driven charger=%s device=%s: cannot write setpoints",
                charger.id,
                charger.device,
            )
            continue
        bays = [BayConnector(b.id, b.connector_id) for b in config.bays if b.charger == charger.id]
        backends.append(DeviceCharger(charger.id, _as_writing(device), bays))
    return SitePort(backends)


def _as_writing(device: object) -> WritingDevice:
    return cast(WritingDevice, device)  # checked above: a profile and write_point
