"""The site's OCPP endpoint(s), assembled: one server per `ocpp` link, one station per
charger device on it, the port backends, the standing profiles, health rows and commands.

`OcppSite.start()` listens; `backends()` go to `site_port(..., extra=...)`; `health(now)`
rows join `edge devices` and `telemetry/health`; `chargers(now)` is `edge chargers`.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed

from edge.clock import Clock
from edge.ocpp.backend import OcppCharger
from edge.ocpp.connection import Pump
from edge.ocpp.context import Context
from edge.ocpp.hooks import AcceptAll, Authorizes, NoSessions, TracksSessions
from edge.ocpp.profiles import Rules, standing_due, standing_orders
from edge.ocpp.rate_unit import MAX_VOLTAGE_V, Rate, Unit, reported_unit
from edge.ocpp.secrets import SecretsError, load_secrets
from edge.ocpp.server import Gate, bound_port, identity_of, start_server
from edge.ocpp.settings import OcppSettings, settings_of
from edge.ocpp.station import Station, StationImage
from edge.ocpp.v16 import V16ChargePoint
from edge.ocpp.v201 import V201ChargePoint
from edge.process_image import ProcessImage
from edge.siteconf.model import Charger, Device, LinkType, SiteConfig

log = logging.getLogger(__name__)
REFRESH_S = 60.0  # how often the standing profiles' validity is looked at


class Endpoint:
    """One `ocpp` link: its server, its stations and their open connections."""

    def __init__(self, settings: OcppSettings, stations: dict[str, Station]) -> None:
        self.settings = settings
        self.stations = stations
        self.open: dict[str, Any] = {}  # identity -> V16/V201ChargePoint
        self.sockets: dict[str, ServerConnection] = {}
        self.server: Server | None = None
        self.secrets_problem = ""
        self.gate = Gate(stations, {})


class OcppSite:
    def __init__(
        self,
        config: SiteConfig,
        image: ProcessImage,
        clock: Clock,
        auth: Authorizes | None = None,
        sessions: TracksSessions | None = None,
    ) -> None:
        self.config, self.clock = config, clock
        self.auth: Authorizes = auth or AcceptAll()
        self.sessions: TracksSessions = sessions or NoSessions()
        self.endpoints = [
            self._endpoint(link.id) for link in config.links if link.type is LinkType.OCPP
        ]
        meter_s = min((e.settings.meter_values_s for e in self.endpoints), default=10.0)
        self.writer = StationImage(image, clock, meter_s)
        self._tx = itertools.count(int(clock.wall()) % 1_000_000_000)
        self._chargers = {c.device: c for c in config.chargers if c.device}
        self._backends = [
            self._backend(ep, st) for ep in self.endpoints for st in ep.stations.values()
        ]

    def _backend(self, ep: Endpoint, st: Station) -> OcppCharger:
        s = ep.settings
        rules = Rules(s.profile_threshold_w, s.profile_min_interval_s, s.profile_validity_s)
        return OcppCharger(st, ep.open, self.clock, rules, s.call_timeout_s)

    def _endpoint(self, link_id: str) -> Endpoint:
        settings = settings_of(self.config.link(link_id), self.config.path.parent)
        stations: dict[str, Station] = {}
        for dev in self.config.devices:
            charger = next((c for c in self.config.chargers if c.device == dev.id), None)
            if dev.link != link_id or charger is None:
                continue
            bays = {b.connector_id: b.id for b in self.config.bays if b.charger == charger.id}
            stations[dev.id] = Station(dev.id, charger.id, bays, rate=self._rate(dev, charger))
        return Endpoint(settings, stations)

    def _rate(self, dev: Device, charger: Charger) -> Rate:
        """Its unit from the site file, else W until it reports one; for A, its highest DC
        output voltage, else that of the highest-voltage connector standard among its bays."""
        volts = dev.max_voltage_v or max(
            (MAX_VOLTAGE_V[b.connector] for b in self.config.bays if b.charger == charger.id),
            default=max(MAX_VOLTAGE_V.values()),  # no bay: nothing is sent to it per bay
        )
        if dev.rate_unit is None:
            return Rate(Unit.W, volts)
        return Rate(Unit(dev.rate_unit), volts, configured=True)

    @property
    def stations(self) -> dict[str, Station]:
        return {k: v for e in self.endpoints for k, v in e.stations.items()}

    def connection(self, identity: str) -> Any:
        return next((e.open[identity] for e in self.endpoints if identity in e.open), None)

    # --- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        for ep in self.endpoints:
            try:
                ep.gate.passwords = load_secrets(ep.settings.secrets_file)
            except SecretsError as exc:  # refuse every charge point, keep the site running
                ep.secrets_problem = str(exc)
                log.error("ocpp_secrets_unusable link=%s error=%s", ep.settings.link, exc)
            ep.server = await start_server(ep.settings, ep.gate, self._handler(ep))
            log.info("ocpp_listening link=%s host=%s port=%d tls=%s charge_points=%d",
                     ep.settings.link, ep.settings.host, bound_port(ep.server),
                     ep.settings.tls, len(ep.stations))  # fmt: skip

    def _handler(self, ep: Endpoint) -> Callable[[ServerConnection], Awaitable[None]]:
        async def handle(ws: ServerConnection) -> None:
            await self._serve(ep, ws)

        return handle

    async def stop(self) -> None:
        for ep in self.endpoints:
            if ep.server is not None:
                ep.server.close()
                await ep.server.wait_closed()

    def port(self, link: str | None = None) -> int:
        ep = next(e for e in self.endpoints if link in (None, e.settings.link))
        assert ep.server is not None
        return bound_port(ep.server)

    async def refresh(self) -> None:
        """Supervised task: keep every connected charge point's profiles valid: the dynamic
        ones (the cycle writes changes only) and the standing ones."""
        period = min([REFRESH_S] + [e.settings.profile_validity_s / 4 for e in self.endpoints])
        while True:
            await self.clock.sleep(period)
            await asyncio.gather(*(b.refresh() for b in self._backends))
            for ep in self.endpoints:
                for identity, cp in list(ep.open.items()):
                    st = ep.stations[identity]
                    if not st.standing_ok or standing_due(st.standing_valid_to, self.clock.wall()):
                        await self._standing(st, cp)

    # --- one connection ---------------------------------------------------------------------
    async def _serve(self, ep: Endpoint, ws: ServerConnection) -> None:
        st = ep.stations[identity_of(ws.request.path if ws.request else "") or ""]
        old = ep.sockets.get(st.identity)
        if old is not None:  # the charger came back before we saw it go: the new one wins
            await old.close(1000, "replaced by a new connection")
        ctx = Context(
            st, self.writer, self.auth, self.sessions, self.clock, ep.settings,
            lambda: next(self._tx),
            lambda: self._after_boot(st, ep.open[st.identity], ep.settings.meter_values_s),
        )  # fmt: skip
        cp: Any = (V201ChargePoint if ws.subprotocol == "ocpp2.0.1" else V16ChargePoint)(ctx, ws)
        st.version, st.connected = cp._ocpp_version, True
        st.connects += 1
        ep.open[st.identity], ep.sockets[st.identity] = cp, ws
        log.info(
            "ocpp_connected charger=%s version=%s connects=%d", st.identity, st.version, st.connects
        )
        pump = Pump(cp, ws, self.clock, ep.settings.max_calls_per_s, lambda: self.writer.heard(st))
        try:
            await pump.run()
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            log.warning("ocpp_disconnected charger=%s code=%s", st.identity, code)
        finally:
            ctx.cancel()
            if ep.sockets.get(st.identity) is ws:
                del ep.sockets[st.identity], ep.open[st.identity]
                st.connected = st.standing_ok = False
                # we cannot know what it keeps: every limit counts as lapsed, and is sent again
                # after its next boot (a TxProfile of a transaction that ended, as TxDefault)
                st.sent = {c: replace(sent, valid_to=0.0) for c, sent in st.sent.items()}
                self.writer.gone(st)

    async def _after_boot(self, st: Station, cp: Any, interval_s: float) -> None:
        """After a BootNotification: the meter values' interval, the unit it takes profiles
        in, then the standing profiles."""
        problem = await cp.sample_every(max(1, round(interval_s)))
        if problem is not None:  # not fatal: its values just age by their own pace
            log.warning("ocpp_config_refused charger=%s error=%s", st.identity, problem)
        if not st.rate.configured:
            await learn_rate_unit(st, cp)
        await self._standing(st, cp)
        resent = await next(b for b in self._backends if b.station is st).refresh()
        if resent:
            log.info("ocpp_limits_resent charger=%s connectors=%d", st.identity, resent)

    async def _standing(self, st: Station, cp: Any) -> None:
        charger = self._chargers.get(st.identity)
        if charger is None:
            return
        orders = standing_orders(charger.max_power_kw, charger.fallback_kw, self.clock.wall())
        problems = [p for p in [await cp.set_profile(o) for o in orders] if p is not None]
        st.standing_ok = not problems
        st.standing_valid_to = orders[-1].valid_to if not problems else None
        if problems:
            st.profiles_rejected += 1
            st.last_rejection = problems[0]
            log.warning("ocpp_standing_refused charger=%s error=%s", st.identity, problems[0])
        else:
            log.info("ocpp_standing_set charger=%s max_kw=%g fallback_kw=%g",
                     st.identity, charger.max_power_kw, charger.fallback_kw)  # fmt: skip

    # --- the port, health, commands ----------------------------------------------------------
    def backends(self) -> list[OcppCharger]:
        return list(self._backends)

    def health(self, now: float) -> list[dict[str, Any]]:
        from edge.ocpp.report import health_rows  # noqa: PLC0415

        return health_rows(self, now)

    async def command(self, identity: str, action: str, connector: int = 0) -> str | None:
        """`reset` (soft), `hard-reset` or `unlock`: None when the charge point accepted."""
        cp = self.connection(identity)
        if cp is None:
            return f"charge point {identity}: not connected"
        if action == "unlock":
            return await cp.unlock(connector)  # type: ignore[no-any-return]
        return await cp.reset(action == "hard-reset")  # type: ignore[no-any-return]


async def learn_rate_unit(st: Station, cp: Any) -> None:
    """Ask the charge point which unit it takes profiles in (1.6
    ChargingScheduleAllowedChargingRateUnit, 2.0.1 SmartChargingCtrlr.RateUnit). No answer,
    or one naming neither unit: keep the one it had (W unless it said A before)."""
    try:
        value = await cp.rate_unit()
    except Exception as exc:  # a CALLERROR, no answer, a closed socket: not fatal
        log.warning("ocpp_rate_unit_unknown charger=%s error=%s: %s",
                    st.identity, type(exc).__name__, exc)  # fmt: skip
        return
    unit = reported_unit(value or "")
    if unit is None:
        log.warning("ocpp_rate_unit_unknown charger=%s reported=%r", st.identity, value)
        return
    if unit is not st.rate.unit:
        log.info("ocpp_rate_unit charger=%s unit=%s max_voltage_v=%g",
                 st.identity, unit.value, st.rate.max_voltage_v)  # fmt: skip
    st.rate = replace(st.rate, unit=unit)
