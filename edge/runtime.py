"""The daemon: builds the site from its config, runs it, and shuts it down safely.

Start-up order: the instance lock (one daemon per site; a second one exits 1 touching
nothing) -> simulators (if any) -> links and devices -> control cycle -> local API.
On SIGTERM/SIGINT: stop taking work, put the site in its safe state, flush what is queued,
exit 0 within about 5 s. If a vital task fails the daemon puts the site in its safe state
too and exits 1 so systemd restarts it. SIGHUP is logged and ignored: logs go to stderr
(journald), so there is nothing to reopen, and a config reload is a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge import __version__, availability_api, bookings_api
from edge.availability_owner import AvailabilityOwner
from edge.bookings_owner import BookingsOwner
from edge.chargers.site_port import site_port
from edge.clock import Clock, SystemClock
from edge.control_cycle import ControlCycle, CycleSink, NullSink
from edge.daemon_stats import CpuMeter
from edge.daemon_status import bays_status, daemon_status, power_status
from edge.drivers.fleet import Fleet, build_fleet
from edge.export_control import start_export
from edge.gates import api as gate_api
from edge.instance_lock import STATE_LOCK, InstanceLock, InstanceLocked
from edge.local_api.protocol import default_socket_path
from edge.local_api.server import LocalApiServer
from edge.logs import set_area_level
from edge.ocpp.daemon import start_ocpp
from edge.operator_limits import OperatorLimits
from edge.operator_limits import register as register_limits
from edge.power_control import PowerController
from edge.power_planning import plan_worker
from edge.process_image import ProcessImage
from edge.safe_state import SafeOutput, apply_all, safe_outputs
from edge.sdnotify import Notifier
from edge.site_access import start_bookings, start_gates
from edge.site_authorization import make_authorizer, start_authorization
from edge.site_billing import make_session_log, start_billing
from edge.siteconf.model import LinkType, SiteConfig
from edge.status import one_line
from edge.store import LocalStore
from edge.supervisor import Supervisor

if TYPE_CHECKING:  # imported when the site uses them: a site without an uplink needs no paho
    from edge.gates.ledger_store import LedgerStore
    from edge.gates.site_lanes import GateLanes
    from edge.gates.store_audit import StoreAudit
    from edge.sim.host import SimHost
    from edge.uplink.service import Uplink

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.0  # systemd's default stop timeout is far above; 5 s is our promise
CPU_SAMPLE_S = 5.0
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
        self.bookings = BookingsOwner(self.availability, self.clock)
        self.limits = OperatorLimits(config, store, self.bookings.record)  # `edge limit set/clear`
        self.uplink = self._make_uplink() if config.uplink.enabled and sink is None else None
        self.sink = self.uplink or self.sink
        self.image = ProcessImage(config.control.stale_after_s, config.control.lost_after_s)
        self.supervisor = Supervisor(self.clock)
        self.sims = _sim_host(config)
        self.api = LocalApiServer(self.socket_path)
        self.fleet = Fleet({}, [])
        self.cycle: ControlCycle | None = None
        self.gates: GateLanes | None = None  # built with the fleet (edge/site_access.py)
        self.gate_audit: StoreAudit | None = None
        self.gate_ledger: LedgerStore | None = None
        self.power: PowerController | None = None
        self.session_log = make_session_log(self)  # events/session, events/meter-values
        self.authorizer = make_authorizer(self)  # local list, bookings, the cloud's answer
        # Every actuating device's safe output, registered once the fleet is built.
        self.safe_state_hooks: list[SafeOutput] = []
        self.lock = InstanceLock(
            [
                config.storage.state_dir / STATE_LOCK,
                self.socket_path.with_name(self.socket_path.name + ".lock"),
            ]
        )
        self.cpu = CpuMeter()
        self.stop_reason = ""
        self._stop = asyncio.Event()
        self.started_at = self.clock.monotonic()

    def _make_uplink(self) -> Uplink:
        from edge.uplink.service import Uplink  # noqa: PLC0415 (paho only when used)

        return Uplink(
            self.config,
            self.clock,
            self.boot_id,
            availability=self.availability,
            bookings=self.bookings,
            limits=self.limits,
            status=self.status,
            health=lambda: self.fleet.health(self.clock.monotonic()),
            set_log_level=self._set_log_level,
        )

    def request_stop(self, reason: str = "requested") -> None:
        self.stop_reason = self.stop_reason or reason
        self._stop.set()

    def _take_lock(self) -> bool:
        """Before anything else starts: a second daemon for this site exits touching nothing."""
        try:
            self.config.storage.state_dir.mkdir(parents=True, exist_ok=True)
            self.socket_path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
            self.lock.acquire()
        except InstanceLocked as exc:
            log.error("not_starting reason=%s", exc)
            return False
        except OSError as exc:  # e.g. state_dir under a read-only parent: one line, no traceback
            log.error(
                "not_starting reason=state_dir or socket directory unusable "
                "(cannot take the instance lock): %s",
                exc,
            )
            return False
        return True

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGHUP, _sighup)

    async def run(self) -> int:
        """Run until asked to stop; the exit code for the process."""
        if not self._take_lock():
            return 1
        try:
            return await self._run_locked()
        finally:
            self.lock.release()

    async def _run_locked(self) -> int:
        log.info(
            "starting version=%s site=%s config=%s boot_id=%s",
            __version__,
            self.config.site_id,
            self.config.path,
            self.boot_id,
        )
        self._install_signals()
        try:
            await self._start()
            stop = asyncio.create_task(self._stop.wait())
            failed = asyncio.create_task(self.supervisor.failed.wait())
            await asyncio.wait({stop, failed}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            failed.cancel()
        finally:
            if self.supervisor.failed_task is not None:
                self.stop_reason = f"vital task {self.supervisor.failed_task} failed"
            await self._shutdown()
        if self.supervisor.failed_task is not None:
            log.error("exiting vital_task_failed task=%s", self.supervisor.failed_task)
            return 1
        log.info("stopped cleanly")
        return 0

    async def _start(self) -> None:
        endpoints = await self.sims.start(self.config, self.clock) if self.sims is not None else {}
        self.fleet = build_fleet(self.config, self.image, self.clock, endpoints)
        self.safe_state_hooks = safe_outputs(self.config, {d.id: d for d in self.fleet.devices})
        self.supervisor.start("cpu-meter", self._sample_cpu)
        if self.uplink is not None:  # first: connecting takes longest; it awaits `loaded`
            self.uplink.start(self.supervisor)
        await self.availability.load()
        await self.limits.load(self.clock.wall())  # the store is open: limits still in force
        from edge.uplink.availability import import_legacy  # noqa: PLC0415 (no paho here)

        await import_legacy(self.availability, self.config.storage.state_dir)
        if self.uplink is not None and self.availability.store.alarm:
            self.uplink.alarms.raise_("local_store_corrupt", self.availability.store.alarm)
        self.supervisor.start("availability", self.availability.run)
        await start_bookings(self)
        await start_authorization(self)
        for spec in self.fleet.tasks():
            self.supervisor.start(spec.name, spec.run, vital=spec.vital)
        await self.fleet.first_poll(timeout_s=2 * self.config.control.period_s)
        # A site whose chargers have no device still runs: its bays are unavailable (no
        # backend reports them), nothing is written, and the budgets are still shown.
        ocpp = await start_ocpp(self)  # the OCPP endpoint, when the site has an ocpp link
        if self.sims is not None:  # the demo's simulated OCPP charge points (edge/sim/ocpp_host.py)
            await self.sims.start_ocpp()
        port = site_port(self.config, {d.id: d for d in self.fleet.devices}, ocpp)
        self.power = PowerController(
            self.config,
            port,
            out_of_service=self._out_of_service,
            overrides=lambda: self.limits.overrides(self.clock.wall()),
            booked=self.bookings.on_bays,
            planner=plan_worker(self.config),
        )
        power = self.power
        self.bookings.occupancy = lambda: power.observed  # parked, charging, overstay facts
        self.cycle = ControlCycle(
            self.config,
            self.image,
            self.clock,
            self.notifier,
            self.sink,
            lambda r: one_line(self.config, r),
            lambda: self.apply_safe_state("control cycle failed"),
            self.power,
        )
        await start_billing(self, port)
        self.supervisor.start("control", self.cycle.run, vital=True)
        start_export(self)  # curtails PV and wind at the root's export_kw (edge/export_control.py)
        start_gates(self)
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
        self.api.register("power", lambda p: self.power_status())
        self.api.register("bays", lambda p: self.bays_status())
        self.api.register("set-log-level", self._set_log_level)
        self.api.register("uplink", lambda p: self.uplink.status() if self.uplink else OFF)
        self.api.register("buffer", lambda p: self.uplink.buffer() if self.uplink else OFF)
        availability_api.register(self.api, self.availability)
        if self.gates is not None:
            gate_api.register(self.api, self.gates)
        bookings_api.register(self.api, self.bookings)
        register_limits(self.api, self.limits, self.clock.wall)

    def _out_of_service(self) -> frozenset[str]:
        view = self.availability.view()
        return frozenset(view.out_of_service) | frozenset(view.unavailable_bays)

    def power_status(self) -> dict[str, Any]:
        return power_status(self)

    def bays_status(self) -> dict[str, Any]:
        return bays_status(self)

    def _set_log_level(self, params: dict[str, Any]) -> dict[str, Any]:
        area, level = set_area_level(params.get("area"), params.get("level"))
        log.info("log_level_changed area=%s level=%s", area, level)
        return {"area": area, "level": level}

    def status(self) -> dict[str, Any]:
        return daemon_status(self)

    async def _sample_cpu(self) -> None:
        while True:
            self.cpu.sample(self.clock.monotonic())
            await self.clock.sleep(CPU_SAMPLE_S)

    async def apply_safe_state(self, reason: str) -> None:
        """Every actuator to its safe state (chargers to their fallback power, CAN cabinets
        released, barriers to the lane's safe position). Each output is bounded in time;
        one failing output does not stop the others."""
        await apply_all(self.safe_state_hooks, reason)

    async def _shutdown(self) -> None:
        started = self.clock.monotonic()
        self.notifier.stopping()
        reason = self.stop_reason or "start failed"
        log.info("stopping reason=%s", reason)
        try:
            async with asyncio.timeout(SHUTDOWN_BUDGET_S):
                await self.api.stop()  # stop taking work
                await self.apply_safe_state(f"stopping: {reason}")
                if self.gate_audit is not None:  # audit records on their way to the store
                    await self.gate_audit.drain()  # ... and to the outbox, flushed next
                if self.gate_ledger is not None:
                    await self.gate_ledger.drain()
                if self.uplink is not None:  # offline status + commit what is queued
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(self.uplink.flush(), timeout=1.5)
                await self.supervisor.stop(timeout_s=1.5)
                if self.uplink is not None:
                    await self.uplink.close()
                await self.availability.close()
                if self.sims is not None:
                    await self.sims.stop()
        except TimeoutError:
            log.error("shutdown_overran budget_s=%.1f", SHUTDOWN_BUDGET_S)
        self.notifier.close()
        log.info("shutdown_done took_s=%.2f", self.clock.monotonic() - started)


def _sighup() -> None:
    log.warning(
        "sighup_ignored: logs go to stderr (journald), nothing to reopen; "
        "restart the daemon to load a changed config"
    )


def _sim_host(config: SiteConfig) -> SimHost | None:
    """The simulators, only for a site with `simulated` links (they import the server side)."""
    if not any(link.type is LinkType.SIMULATED for link in config.links):
        return None
    from edge.sim.host import SimHost  # noqa: PLC0415 (server side only when used)

    return SimHost()


def run_daemon(
    config: SiteConfig, *, socket_path: Path | None = None, config_warnings: list[str] | None = None
) -> int:
    os.umask(0o007)  # files and sockets group-readable for technicians, never world
    return asyncio.run(
        Daemon(config, socket_path=socket_path, config_warnings=config_warnings).run()
    )
