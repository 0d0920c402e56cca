"""Every gate lane of the site, its readers and ANPR endpoints, built from the site model and
the fleet's devices; `tasks()` is what the runtime starts.

Each lane is fed a frozen snapshot of the process image every GATE_PERIOD_S (the I/O
coupler's poll period). The bays' states for admission come from the availability owner,
the chargers' reports and the bays' occupancy sensors; the bookings from a `BookingsView`
(the bookings owner in the daemon).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from edge.access import occupancy
from edge.access.admission import Policy, needs_for
from edge.access.bookings import Need
from edge.access.entry import EntryRules
from edge.clock import Clock
from edge.gates.anpr import AnprEndpoint
from edge.gates.audit import Audit, LogAudit
from edge.gates.decide import BookingsView, EntryDecider, MemoryBookings
from edge.gates.lane import LaneDriver
from edge.gates.serial_reader import SerialReader
from edge.process_image import ProcessImage
from edge.qr_signature import SiteKeys
from edge.readings import Snapshot
from edge.safe_state import WritesPoints
from edge.sessions import BayState
from edge.siteconf.model import Connector, ReaderKind, SiteConfig

log = logging.getLogger(__name__)

GATE_PERIOD_S = 0.2
Job = Callable[[], Coroutine[Any, Any, None]]


def ad_hoc_needs(config: SiteConfig) -> tuple[Need, ...]:
    """What an unbooked truck whose reader says nothing of its inlet may need: a connector of
    `[access] ad_hoc_connectors` (default: every connector the site's bays have) on a side not
    known. It is admitted only if a bay fits each (docs/access.md, section 3)."""
    connectors = config.access.ad_hoc_connectors
    if connectors is None:
        connectors = tuple(c for c in Connector if any(b.connector is c for b in config.bays))
    return needs_for(connectors)


class GateLanes:
    def __init__(
        self,
        config: SiteConfig,
        image: ProcessImage,
        clock: Clock,
        devices: Mapping[str, object],
        unavailable_bays: Callable[[], tuple[str, ...]] = tuple,
        bookings: BookingsView | None = None,
        audit: Audit | None = None,
        observed: Callable[[], Mapping[str, BayState]] = dict,
    ) -> None:
        self.config, self.image, self.clock = config, image, clock
        self.unavailable_bays = unavailable_bays
        self.observed = observed  # bay states from the chargers' reports (fresh only)
        self.audit = audit or LogAudit()
        self.bookings = bookings or MemoryBookings()
        access = config.access
        rules = EntryRules(
            SiteKeys.from_hex(access.qr_keys),
            policy=Policy(ad_hoc_needs=ad_hoc_needs(config)),
            max_stay_s=access.max_stay_h * 3600.0,
            debounce_s=access.debounce_s,
            max_read_age_s=access.max_read_age_s,
        )
        self.decider = EntryDecider(
            self.bookings, config.bays, self.bay_states, rules, self.audit,
            transit_s=access.ad_hoc_reserve_min * 60.0,
        )  # fmt: skip
        self.lanes: dict[str, LaneDriver] = {}
        self.readers: list[SerialReader] = []
        self.endpoints: dict[str, AnprEndpoint] = {}
        self._snapshot: Snapshot | None = None
        for gate in config.gates:
            output = devices.get(gate.barrier_output.device)
            if not isinstance(output, WritesPoints):
                log.error("gate_not_driven gate=%s output=%s: no such writable device", gate.id,
                          gate.barrier_output)  # fmt: skip
                continue
            lane = LaneDriver(gate, output, clock, self.decider, self.audit)
            self.lanes[gate.id] = lane
            for reader in gate.readers:
                self._add_reader(lane, reader)

    def _add_reader(self, lane: LaneDriver, reader: Any) -> None:
        deliver = lane.on_read
        if reader.kind is ReaderKind.ANPR:
            host, port = str(reader.endpoint).rsplit(":", 1)
            endpoint = self.endpoints.setdefault(reader.endpoint, AnprEndpoint(host, int(port)))
            endpoint.add(reader, deliver)
        else:
            self.readers.append(SerialReader(reader, lane.gate.id, deliver, self.clock))

    def port_of(self, endpoint: str) -> int | None:
        """The port an ANPR endpoint (as configured, `host:port`) listens on, once started."""
        found = self.endpoints.get(endpoint)
        return found.bound if found is not None else None

    def bay_states(self) -> Mapping[str, BayState]:
        """For admission: what the chargers report of each bay (`observed`), a bay whose
        occupancy sensor says occupied (or cannot be read) occupied, out of service
        unavailable (`occupancy.bay_states`); a bay nothing says anything about is free."""
        observed = dict(self.observed())
        snap = self._snapshot
        for bay in self.config.bays:
            ref = bay.occupancy_sensor
            if ref is None:
                continue
            points = snap.points.get(ref.device) if snap is not None else None
            reading = points.get(ref.point) if points is not None else None
            free = reading is not None and reading.usable() and (reading.value or 0.0) < 0.5
            if not free and not observed.get(bay.id, BayState.AVAILABLE).has_truck:
                observed[bay.id] = BayState.OCCUPIED
        ids = [b.id for b in self.config.bays]
        return occupancy.bay_states(ids, self.unavailable_bays(), observed)

    def tasks(self) -> list[tuple[str, Job]]:
        jobs: list[tuple[str, Job]] = [("gates", self.run)]
        jobs += [(f"reader-{r.reader.id}", r.run) for r in self.readers]
        jobs += [(f"anpr-{key}", self._endpoint_job(e)) for key, e in self.endpoints.items()]
        return jobs

    def _endpoint_job(self, endpoint: AnprEndpoint) -> Job:
        async def serve() -> None:
            await endpoint.start()
            try:
                await asyncio.Event().wait()  # serves until cancelled
            finally:
                await endpoint.stop()

        return serve

    async def run(self) -> None:
        """Outputs off first on every lane, then one snapshot per period to each lane."""
        for lane in self.lanes.values():
            await lane.start()
        while True:
            await self.cycle()
            await self.clock.sleep(GATE_PERIOD_S)

    async def cycle(self) -> None:
        """One frozen snapshot to every lane."""
        self._snapshot = self.image.freeze(self.clock.monotonic(), self.clock.wall())
        for lane in self.lanes.values():
            await lane.on_snapshot(self._snapshot)

    def status(self) -> dict[str, Any]:
        return {
            "lanes": [lane.status() for lane in self.lanes.values()],
            "decisions": dict(self.decider.tally),
            "recent": list(self.decider.recent),
        }

    def summary(self) -> str:
        """One line: each lane's state, the entry decisions so far, the last one."""
        lanes = ", ".join(f"{n} {lane.state()}" for n, lane in self.lanes.items()) or "none"
        tally = self.decider.tally
        if not tally:
            return lanes
        counts = ", ".join(f"{reason} {n}" for reason, n in sorted(tally.items()))
        last = self.decider.recent[-1]
        who = f"booking {last['booking']}" if last["booking"] else "ad hoc"
        return f"{lanes}; decisions: {counts}; last: {last['gate']} {last['reason']} ({who})"
