"""The daemon: builds the site from its config, runs it, and shuts it down safely.

Start-up order: simulators (if any) -> links and devices -> control cycle -> local API.
On SIGTERM/SIGINT: stop taking work, put the site in its safe state, flush what is queued,
exit 0 within about 5 s. If a vital task fails the daemon exits 1 so systemd restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edge import __version__, availability_api
from edge.availability_owner import AvailabilityOwner
from edge.clock import Clock, SystemClock
from edge.control_cycle import ControlCycle, CycleSink, NullSink
from edge.drivers.fleet import Fleet, build_fleet
from edge.local_api.protocol import default_socket_path
from edge.local_api.server import LocalApiServer
from edge.logs import set_area_level
from edge.process_image import ProcessImage
from edge.sdnotify import Notifier
from edge.sim.host import SimHost
from edge.siteconf.model import SiteConfig
from edge.status import one_line, site_status
from edge.store import LocalStore
from edge.supervisor import Supervisor
from edge.uplink.availability import import_legacy
from edge.uplink.service import Uplink

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.0  # systemd's default stop timeout is far above; 5 s is our promise
SafeStateHook = Callable[[], Awaitable[None]]
OFF = {"configured": False, "state": "disabled"}


class Daemon:
    def __init__(
        self,
        config: SiteConfig,
        *,
        clock: Clock | None = None,
        socket_path: Path | None = None,
        notifier: Notifier | None = None,
        sink: CycleSink | None = None,
        config_warnings: list[str] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.socket_path = socket_path or config.storage.socket or default_socket_path()
        self.notifier = notifier or Notifier()
        self.sink = sink or NullSink()
        self.config_warnings = config_warnings or []
        self.boot_id = uuid.uuid4().hex
        store = LocalStore(config.storage.state_dir / "site.db", wall=self.clock.wall)
        self.availability = AvailabilityOwner(config, self.clock, store)
        self.uplink = self._make_uplink() if config.uplink.enabled and sink is None else None
        self.sink = self.uplink or self.sink
        self.image = ProcessImage(config.control.stale_after_s)
        self.supervisor = Supervisor(self.clock)
        self.sims = SimHost()
        self.api = LocalApiServer(self.socket_path)
        self.fleet = Fleet({}, [])
        self.cycle: ControlCycle | None = None
        self.safe_state_hooks: list[tuple[str, SafeStateHook]] = []
        self._stop = asyncio.Event()
        self._started_at = self.clock.monotonic()

    def _make_uplink(self) -> Uplink:
        return Uplink(
            self.config,
            self.clock,
            self.boot_id,
            availability=self.availability,
            status=self.status,
            health=lambda: self.fleet.health(self.clock.monotonic()),
            set_log_level=self._set_log_level,
        )

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> int:
        """Run until asked to stop; the exit code for the process."""
        log.info(
            "starting version=%s site=%s config=%s boot_id=%s",
            __version__,
            self.config.site_id,
            self.config.path,
            self.boot_id,
        )
        self.config.storage.state_dir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self._start()
            stop = asyncio.create_task(self._stop.wait())
            failed = asyncio.create_task(self.supervisor.failed.wait())
            await asyncio.wait({stop, failed}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            failed.cancel()
        finally:
            await self._shutdown()
        if self.supervisor.failed_task is not None:
            log.error("exiting vital_task_failed task=%s", self.supervisor.failed_task)
            return 1
        log.info("stopped cleanly")
        return 0

    async def _start(self) -> None:
        endpoints = await self.sims.start(self.config, self.clock)
        self.fleet = build_fleet(self.config, self.image, self.clock, endpoints)
        if self.uplink is not None:  # first: connecting takes longest; it awaits `loaded`
            self.uplink.start(self.supervisor)
        await self.availability.load()
        await import_legacy(self.availability, self.config.storage.state_dir)
        if self.uplink is not None and self.availability.store.alarm:
            self.uplink.alarms.raise_("local_store_corrupt", self.availability.store.alarm)
        self.supervisor.start("availability", self.availability.run)
        for spec in self.fleet.tasks():
            self.supervisor.start(spec.name, spec.run, vital=spec.vital)
        await self.fleet.first_poll(timeout_s=2 * self.config.control.period_s)
        self.cycle = ControlCycle(
            self.config,
            self.image,
            self.clock,
            self.notifier,
            self.sink,
            lambda r: one_line(self.config, r),
            self.apply_safe_state,
        )
        self.supervisor.start("control", self.cycle.run, vital=True)
        self._register_api()
        await self.api.start()

    def _register_api(self) -> None:
        self.api.register("ping", lambda p: {"pong": True, "version": __version__})
        self.api.register("version", lambda p: {"version": __version__, "boot_id": self.boot_id})
        self.api.register("status", lambda p: self.status())
        self.api.register("tasks", lambda p: self.supervisor.summary())
        self.api.register(
            "devices",
            lambda p: {
                "devices": self.fleet.health(self.clock.monotonic()),
                "links": self.fleet.link_stats(),
            },
        )
        self.api.register("set-log-level", self._set_log_level)
        self.api.register("uplink", lambda p: self.uplink.status() if self.uplink else OFF)
        self.api.register("buffer", lambda p: self.uplink.buffer() if self.uplink else OFF)
        availability_api.register(self.api, self.availability)

    def _set_log_level(self, params: dict[str, Any]) -> dict[str, Any]:
        area, level = str(params.get("area", "")), str(params.get("level", ""))
        set_area_level(area, level)
        log.info("log_level_changed area=%s level=%s", area or "root", level)
        return {"area": area or "root", "level": level}

    def status(self) -> dict[str, Any]:
        cycle = self.cycle
        counts = {
            "cycles": cycle.completed if cycle else 0,
            "failed_cycles": cycle.failed if cycle else 0,
            "overruns": cycle.overruns if cycle else 0,
        }
        status = site_status(
            self.config,
            cycle.latest if cycle else None,
            self.fleet,
            now=self.clock.monotonic(),
            boot_id=self.boot_id,
            started_at=self._started_at,
            config_warnings=self.config_warnings,
            cycles=counts,
        )
        if self.uplink is not None:
            status["uplink"] = {**status["uplink"], **self.uplink.status()}
        status["bays"]["out_of_service"] = list(self.availability.view().unavailable_bays)
        status["warnings"] += self.availability.warnings
        return status

    async def apply_safe_state(self) -> None:
        """Every actuator to its safe state (chargers to fallback, barrier outputs idle).
        Each hook is bounded; one failing hook does not stop the others."""
        for name, hook in self.safe_state_hooks:
            try:
                await asyncio.wait_for(hook(), timeout=1.0)
            except Exception:
                log.exception("safe_state_failed part=%s", name)

    async def _shutdown(self) -> None:
        started = self.clock.monotonic()
        self.notifier.stopping()
        log.info(
            "stopping reason=%s", "vital task failed" if self.supervisor.failed_task else "signal"
        )
        try:
            async with asyncio.timeout(SHUTDOWN_BUDGET_S):
                await self.api.stop()  # stop taking work
                await self.apply_safe_state()
                if self.uplink is not None:  # offline status + commit what is queued
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.uplink.flush(), timeout=1.5)
                await self.supervisor.stop(timeout_s=1.5)
                if self.uplink is not None:
                    await self.uplink.close()
                await self.availability.close()
                await self.sims.stop()
        except TimeoutError:
            log.error("shutdown_overran budget_s=%.1f", SHUTDOWN_BUDGET_S)
        self.notifier.close()
        log.info("shutdown_done took_s=%.2f", self.clock.monotonic() - started)


def run_daemon(
    config: SiteConfig, *, socket_path: Path | None = None, config_warnings: list[str] | None = None
) -> int:
    os.umask(0o007)  # files and sockets group-readable for technicians, never world
    return asyncio.run(
        Daemon(config, socket_path=socket_path, config_warnings=config_warnings).run()
    )
