"""The `Uplink` component the daemon starts: outbox + link + drain + commands + telemetry.

It is the control cycle's `CycleSink`: `offer` keeps one cycle record per
`snapshot_every_s` as a site snapshot (never blocks the cycle). Its tasks are supervised
by the daemon; `flush` on shutdown says `offline` and commits what is pending.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from edge import __version__, operator_limits
from edge.availability import View
from edge.availability_owner import AvailabilityOwner
from edge.bookings_owner import BookingsOwner
from edge.clock import Clock
from edge.operator_limits import OperatorLimits
from edge.siteconf.model import SiteConfig
from edge.supervisor import Supervisor
from edge.uplink import availability, bookings
from edge.uplink import bookings as bookings_uplink  # `bookings` is also the owner below
from edge.uplink.alarms import Alarms
from edge.uplink.command_processor import CommandProcessor
from edge.uplink.commands import CommandRegistry, load_schema
from edge.uplink.drain import Drain, DrainSettings
from edge.uplink.envelope import command_name, command_topic, status_topic, utc_iso
from edge.uplink.inbox import CommandInbox
from edge.uplink.mqtt_adapter import LinkSettings, MqttLink
from edge.uplink.outbox import Outbox, OutboxSettings
from edge.uplink.policy import Budget
from edge.uplink.records import DurableRecords, buffer_stats
from edge.uplink.telemetry import bay_rows, site_snapshot

log = logging.getLogger(__name__)
Provider = Callable[[], Any]
INBOX = 64  # unacknowledged commands the broker may send us at once (Receive Maximum)


def outbox_settings(config: SiteConfig) -> OutboxSettings:
    st = config.storage
    budget = int(st.buffer_budget_mb * 1e6)
    reserve = budget // 10 if st.event_reserve_mb is None else int(st.event_reserve_mb * 1e6)
    return OutboxSettings(
        st.state_dir / "uplink" / "outbox.db",
        Budget(budget, reserve),
        telemetry_ttl_s=config.uplink.telemetry_ttl_h * 3600.0,
    )


class Uplink:
    def __init__(
        self,
        config: SiteConfig,
        clock: Clock,
        boot_id: str,
        *,
        availability: AvailabilityOwner,
        bookings: BookingsOwner | None = None,
        status: Provider = dict,
        health: Provider = list,
        set_log_level: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        limits: OperatorLimits | None = None,
    ) -> None:
        u = config.uplink
        self.config, self.clock, self.boot_id = config, clock, boot_id
        self.availability = availability  # the daemon owns it; the uplink carries it
        self.bookings = bookings
        self.limits = limits  # operator limits (`site-limit`), owned by the daemon
        self.prefix = u.topic_prefix
        self._status, self._health, self._set_log_level = status, health, set_log_level
        self.alarms = Alarms()
        self.alarms.listen(self._alarm_event)
        self.outbox = Outbox(
            outbox_settings(config),
            site=config.site_id,
            boot_id=boot_id,
            clock=clock,
            alarms=self.alarms,
        )
        self.link = MqttLink(self._link_settings(), clock)
        self.drain = Drain(
            self.outbox,
            self.link,
            DrainSettings(self.prefix, config.site_id, rate_msg_s=u.rate_limit_msg_s),
            clock=clock,
        )
        self.registry = CommandRegistry()
        self.records = DurableRecords(self.outbox)
        self.processor = CommandProcessor(self.registry, self.records, clock.wall)
        self._register_builtins()
        self.link.on_connected = self._birth
        self.inbox = CommandInbox(INBOX, self.link)
        self.link.on_message = self.inbox.put
        availability.listen(self._publish_availability)
        # events/booking, events/assignment, events/audit, events/admission: from the store
        self.relay = bookings_uplink.relay(bookings, self.outbox, clock) if bookings else None
        self._every = max(1, round(u.snapshot_every_s / config.control.period_s))
        self._cycles = 0
        self.latest: dict[str, Any] | None = None

    def _link_settings(self) -> LinkSettings:
        u = self.config.uplink
        return LinkSettings(
            u.broker,
            u.client_id,
            mqtt_version=u.mqtt_version,
            keepalive_s=u.keepalive_s,
            ca_file=u.ca_file,
            cert_file=u.cert_file,
            key_file=u.key_file,
            session_expiry_s=u.session_expiry_s,
            max_inflight=u.max_inflight,
            receive_max=INBOX,
            will_topic=status_topic(self.prefix),
            will_payload=self._presence("offline", "connection lost"),
            subscriptions=(command_topic(self.prefix),),
        )

    def _presence(self, state: str, reason: str = "") -> bytes:
        body = {
            "v": 1,
            "site": self.config.site_id,
            "state": state,
            "boot_id": self.boot_id,
            "version": __version__,
            "config_sha256": self.config.digest,
            "ts": utc_iso(self.clock.wall()),
        }
        if reason:
            body["reason"] = reason
        return json.dumps(body).encode()

    def start(self, supervisor: Supervisor) -> None:
        supervisor.start("uplink-outbox", self.outbox.run)
        supervisor.start("uplink-link", self.link.run)
        supervisor.start("uplink-drain", self.drain.run)
        supervisor.start("uplink-commands", self._serve_commands)
        supervisor.start("uplink-telemetry", self._telemetry)
        if self.bookings is not None and self.relay is not None:
            run = functools.partial(
                bookings_uplink.run_relay, self.bookings, self.outbox, self.relay
            )
            supervisor.start("bookings-relay", run)

    # --- CycleSink ------------------------------------------------------------------------
    def offer(self, record: dict[str, Any]) -> None:
        self.latest = record
        self._cycles += 1
        if self._cycles % self._every == 1 or self._every == 1:
            self.outbox.offer("telemetry/site", self._snapshot(record))

    def _snapshot(self, record: dict[str, Any]) -> dict[str, Any]:
        unavailable = list(self.availability.view().unavailable_bays)
        return site_snapshot(record, bay_rows(self.config, unavailable, record.get("bays")))

    # --- tasks ----------------------------------------------------------------------------
    async def _telemetry(self) -> None:
        """Device health and buffer statistics, every snapshot period."""
        await self.outbox.ready.wait()
        await self.availability.loaded.wait()  # the daemon loads it while the link connects
        # The retained maintenance view exists from the first connect.
        self._publish_availability(self.availability.view())
        while True:
            self.outbox.offer("telemetry/health", {"devices": self._health()})
            self.outbox.offer("telemetry/buffer", await self.buffer())
            await self.clock.sleep(max(self.config.uplink.snapshot_every_s, 1.0))

    def _publish_availability(self, view: View) -> None:
        self.outbox.offer(availability.STREAM, availability.state_payload(view))

    def _birth(self) -> None:
        self.link.publish(status_topic(self.prefix), self._presence("online"), retain=True)

    async def _serve_commands(self) -> None:
        await self.outbox.ready.wait()
        await self.processor.recover()
        while True:
            batch = await self.inbox.get_batch(INBOX)
            await self.processor.handle_batch(
                [
                    (command_name(self.prefix, topic), payload, partial(self.link.ack, c, mid, q))
                    for c, topic, payload, mid, q in batch
                ]
            )

    # --- commands ---------------------------------------------------------------------------
    def _register_builtins(self) -> None:
        reg = self.registry
        reg.register("ping", load_schema("cmd-ping.json"), self._cmd_ping)
        reg.register("snapshot", load_schema("cmd-snapshot.json"), self._cmd_snapshot)
        reg.register("set-log-level", load_schema("cmd-set-log-level.json"), self._cmd_log)
        reg.register(
            "bay-availability",
            load_schema("cmd-bay-availability.json"),
            functools.partial(availability.command, self.availability),
        )
        if self.bookings is not None:
            for name, handler in (
                ("booking-upsert", bookings.upsert),
                ("booking-cancel", bookings.cancel),
            ):
                schema = load_schema(f"cmd-{name}.json")
                reg.register(name, schema, functools.partial(handler, self.bookings))
        if self.limits is not None:
            reg.register(
                "site-limit",
                load_schema("cmd-site-limit.json"),
                functools.partial(operator_limits.command, self.limits, self.clock.wall),
            )

    async def _cmd_ping(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"pong": True, "version": __version__, "boot_id": self.boot_id}

    async def _cmd_snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        self.outbox.offer("state/site", self._status())
        await self.availability.loaded.wait()
        self._publish_availability(self.availability.view())
        if self.latest is not None:
            self.outbox.offer("telemetry/site", self._snapshot(self.latest))
        return {"published": ["state/site", "state/bay-availability", "telemetry/site"]}

    async def _cmd_log(self, args: dict[str, Any]) -> dict[str, Any]:
        if self._set_log_level is None:
            raise ValueError("set-log-level: not available in this process")
        return self._set_log_level(args)

    def _alarm_event(self, name: str, active: bool, message: str) -> None:
        self.outbox.offer("events/alarm", {"alarm": name, "active": active, "message": message})

    # --- shutdown and status -------------------------------------------------------------------
    async def flush(self) -> None:
        """Say offline (retained), disconnect cleanly, commit what is pending."""
        await self.link.close((status_topic(self.prefix), self._presence("offline", "shutdown")))
        await self.outbox.flush()

    async def close(self) -> None:
        """After the tasks stopped: close the database (its thread keeps a process alive)."""
        await self.outbox.close()

    def status(self) -> dict[str, Any]:
        return {
            "configured": True,
            "state": self.link.state,
            "broker": self.link.where,
            "last_error": self.link.last_error or None,
            "buffer_depth": sum(self.outbox.counts.values())
            if self.outbox.ready.is_set()
            else None,
            "buffer_fault": self.outbox.fault,
            "alarms": dict(self.alarms.active),
            "out_of_service": list(self.availability.view().unavailable_bays),
        }

    async def buffer(self) -> dict[str, Any]:
        stats = await buffer_stats(self.outbox)
        rate = self.drain.send_rate()
        depth = sum(stats["depth"].values())
        stats["send_rate_records_s"] = round(rate, 1)
        stats["drain_estimate_s"] = round(depth / rate, 1) if rate > 0 else None
        stats["inflight"] = self.drain.inflight
        stats["sent"] = {"messages": self.drain.sent_msgs, "records": self.drain.sent_records}
        stats["refused_pubacks"] = self.drain.refused
        return stats
