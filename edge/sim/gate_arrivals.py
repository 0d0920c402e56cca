"""Trucks arriving at the demo's gates, booked and ad hoc, as cameras would report them.

Every `CYCLE_S`: an ad-hoc electric truck (first: at the demo's opening the bays are still
free; later ones find them taken by the plant's trucks and are refused), a booked electric
truck (its booking is seeded just before, as the cloud would send it, its window open now),
and a truck not known to be electric (to be referred to staff, never let in). A truck is
put on the entry lane's loop A (`GatePlant`); once it stands there the lane's ANPR camera
posts its plate to the daemon's endpoint over HTTP with the shared secret, as a real
camera does. A truck that got in
leaves by the exit lane after `DWELL_S`, read by the exit camera. What the gate decides is
the daemon's business: this side only drives and reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp

from edge.access.bookings import Booking, Credentials, Period, Terms
from edge.clock import Clock
from edge.sim.gate_plant import GatePlant, SimTruck, Stage
from edge.siteconf.model import Connector, GateLane, InletSide, Reader, ReaderKind

log = logging.getLogger(__name__)

CYCLE_S = 48.0  # one booked, one ad-hoc, one non-electric truck per cycle
SPACING_S = 16.0  # between two trucks of a cycle: the boom is down again by then
FIRST_S = 2.0  # the first truck once the lanes are up
READ_AFTER_S = 1.0  # a camera reads a truck standing on loop A this long (the lane armed)
REREAD_S = 8.0  # and reads it again if it is still waiting (cameras read continuously)
DWELL_S = 20.0  # a truck that got in leaves this long after
MAX_CYCLES = 100_000  # bounded; the demo is stopped long before
Book = Callable[[Booking], Awaitable[object]]
PortOf = Callable[[str], int | None]  # an ANPR endpoint as configured -> the port bound


@dataclass(frozen=True, slots=True)
class Camera:
    reader: Reader
    secret: str


def _camera(gate: GateLane) -> Camera | None:
    reader = next((r for r in gate.readers if r.kind is ReaderKind.ANPR), None)
    if reader is None or reader.secret_file is None:
        return None
    try:
        return Camera(reader, reader.secret_file.read_text().strip())
    except OSError as exc:  # the lane still works; its trucks wait unread, then leave
        log.warning("sim_gate_camera_off lane=%s reader=%s why=%s", gate.id, reader.id, exc)
        return None


class Arrivals:
    def __init__(
        self,
        plant: GatePlant,
        gates: tuple[GateLane, ...],
        clock: Clock,
        book: Book,
        port_of: PortOf,
    ) -> None:
        self.plant, self.clock, self.book, self.port_of = plant, clock, book, port_of
        self.entry = next(g for g in gates if g.direction in ("entry", "both"))
        self.exit = next((g for g in gates if g.direction == "exit"), self.entry)
        self.cameras = {g.id: c for g in gates if (c := _camera(g)) is not None}
        self.posted: dict[str, int] = {}  # plate -> camera answer status
        self._tasks: set[asyncio.Task[None]] = set()
        self._events = itertools.count(1)
        plant.seen = self._seen

    async def run(self) -> None:
        try:
            for _ in range(300):  # bounded: the endpoint starts with the lanes
                if all(self.port_of(str(c.reader.endpoint)) for c in self.cameras.values()):
                    break
                await self.clock.sleep(0.1)
            await self.clock.sleep(FIRST_S)
            for k in range(1, MAX_CYCLES):
                start = self.clock.wall()  # ad hoc first: at the opening the bays are free
                self._arrive(f"2-ADH-{k:03d}", "electric-truck")
                await self._until(start + SPACING_S)
                await self._booked(k)
                await self._until(start + 2 * SPACING_S)
                self._arrive(f"3-DSL-{k:03d}", "truck")  # not known to be electric
                await self._until(start + CYCLE_S)
        finally:
            for task in self._tasks:
                task.cancel()

    async def _until(self, wall: float) -> None:
        await self.clock.sleep(max(0.0, wall - self.clock.wall()))

    async def _booked(self, k: int) -> None:
        plate, now = f"1-BKD-{k:03d}", self.clock.wall()
        booking = Booking(
            f"demo-{k:03d}",
            1,
            Period(now - 60.0, now + 3600.0),
            Connector.CCS,
            InletSide.LEFT,
            self.entry.plot,
            Credentials(tractor_plate=plate),
            Terms(early_start_s=900.0, noshow_timeout_s=900.0),
            updated_at=now,
        )
        try:
            await self.book(booking)
        except Exception:  # a refused booking: the truck still comes, as ad hoc
            log.exception("sim_gate_booking_failed booking=%s", booking.id)
        self._arrive(plate, "electric-truck")

    def _arrive(self, plate: str, vehicle: str, lane: GateLane | None = None) -> None:
        gate = lane or self.entry
        self.plant.arrive(SimTruck(plate, vehicle, gate.id))
        log.info("sim_gate_arriving lane=%s plate=%s vehicle=%s", gate.id, plate, vehicle)

    def _seen(self, truck: SimTruck) -> None:
        """From the plant's step: a truck on loop A (the camera reads it), or one done."""
        if truck.stage is Stage.WAITING:
            self._spawn(self._read(truck))
        elif truck.stage is Stage.IN and truck.lane == self.entry.id and self.exit != self.entry:
            self._spawn(self._leave(truck))

    def _spawn(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)  # referenced until done
        task.add_done_callback(self._tasks.discard)

    async def _leave(self, truck: SimTruck) -> None:
        await self.clock.sleep(DWELL_S)
        self._arrive(truck.plate, truck.vehicle, self.exit)

    async def _read(self, truck: SimTruck) -> None:
        """Read the plate of a truck waiting on loop A; again while it still waits."""
        arrived = truck.since
        for wait in (READ_AFTER_S, REREAD_S):
            await self.clock.sleep(wait)
            if truck.stage is not Stage.WAITING or truck.since != arrived:
                return
            await self._post(truck)

    async def _post(self, truck: SimTruck) -> None:
        camera = self.cameras.get(truck.lane)
        port = self.port_of(str(camera.reader.endpoint)) if camera else None
        if camera is None or port is None:
            return  # no camera on this lane (an exit lets the truck out unread)
        host = str(camera.reader.endpoint).rsplit(":", 1)[0]
        url = f"http://{host}:{port}/anpr/{camera.reader.id}"
        event = {"event_id": f"sim-{next(self._events)}", "plate": truck.plate,
                 "taken_at": self.clock.wall(), "vehicle": truck.vehicle}  # fmt: skip
        headers = {"Authorization": f"Bearer {camera.secret}"}
        timeout = aiohttp.ClientTimeout(total=5.0)
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(url, json=event, headers=headers) as answer,
            ):
                self.posted[truck.plate] = answer.status
                log.info("sim_gate_camera lane=%s plate=%s answer=%d", truck.lane,
                         truck.plate, answer.status)  # fmt: skip
