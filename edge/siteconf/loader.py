"""Load a site file: parse, validate everything at once, and build frozen `SiteConfig`.

`load_site` either returns a complete, consistent `SiteConfig` or raises `ConfigError` with
every problem found, each naming the file, line, key path, what is wrong and what is allowed.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from edge.siteconf.cross_checks import check_site
from edge.siteconf.device_checks import MODBUS_LINKS
from edge.siteconf.host_checks import check_host, resolve
from edge.siteconf.issues import ConfigError, ConfigIssue, KeyPath
from edge.siteconf.model import (
    Access,
    Authorization,
    Bay,
    Charger,
    Connector,
    Control,
    Device,
    DeviceKind,
    GateLane,
    InletSide,
    LimitNode,
    Link,
    LinkType,
    Logging,
    Plot,
    PointRef,
    Reader,
    ReaderKind,
    Sessions,
    SiteConfig,
    Storage,
    UplinkConfig,
    frozen_mapping,
)
from edge.siteconf.schema import GATE_TIMINGS
from edge.siteconf.schema_check import check_schema
from edge.siteconf.toml_lines import deep_nesting_line, index_lines, line_of
from edge.siteconf.values import MAX_NESTING, check_values, pruned

# A profile catalogue as the checks need it: name -> {"kind": str, "points": {name: access}}.
ProfileIndex = Mapping[str, Mapping[str, Any]]

DEFAULT_STATE_DIR = "/var/lib/edge"
# A charger on an `ocpp` link has no register profile: its `Device.profile` reads "ocpp".
OCPP_PROFILE = "ocpp"
_TOML_POS = re.compile(r"\(at line (\d+), column \d+\)")


def load_site(path: str | Path, profiles: ProfileIndex | None = None) -> SiteConfig:
    """Read and validate `path`. Raises ConfigError listing every error."""
    config, _ = load_site_with_warnings(path, profiles)
    return config


def load_site_with_warnings(
    path: str | Path, profiles: ProfileIndex | None = None
) -> tuple[SiteConfig, tuple[ConfigIssue, ...]]:
    file = Path(path)
    name = str(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigIssue(name, (), f"cannot read: {exc.strerror or exc}")]) from exc
    text = raw.decode("utf-8", errors="replace")
    data = _parse(text, name)
    if profiles is None:
        from edge.drivers.catalog import profile_index  # noqa: PLC0415 (keeps siteconf light)

        profiles = profile_index()
    issues = validate(data, text, name, profiles, file.resolve().parent)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise ConfigError(issues)
    config = _build(data, file.resolve(), hashlib.sha256(raw).hexdigest())
    return config, tuple(issues)


def _parse(text: str, name: str) -> dict[str, Any]:
    """tomllib, made safe: nesting is bounded before it recurses, errors carry the line."""
    deep = deep_nesting_line(text, MAX_NESTING)
    if deep is not None:
        message = f"arrays or inline tables nested too deeply (at most {MAX_NESTING} levels)"
        raise ConfigError([ConfigIssue(name, (), message, deep)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POS.search(str(exc))
        line = int(match.group(1)) if match else None
        raise ConfigError([ConfigIssue(name, (), f"not valid TOML: {exc}", line)]) from exc


def validate(
    data: Mapping[str, Any], text: str, file: str, profiles: ProfileIndex, base: Path | None = None
) -> list[ConfigIssue]:
    """Values, schema, cross- and host checks together; sorted by line, so the list reads like
    the file. The checks after the schema see every refused value as REFUSED, never as is."""
    lines = index_lines(text)
    issues: list[ConfigIssue] = []

    def add(path: KeyPath, message: str, severity: str = "error") -> None:
        issues.append(ConfigIssue(file, path, message, line_of(lines, path), severity))

    drop = check_values(data, add)
    drop |= check_schema(data, drop, add)
    clean = pruned(data, drop)
    check_site(clean, profiles, add, lambda p, m: add(p, m, "warning"))
    check_host(clean, base, add, lambda p, m: add(p, m, "warning"))
    issues.sort(key=lambda i: (i.line or 0, str(i.path)))
    return issues


def _path(base: Path, value: str | None) -> Path | None:
    return None if value is None else resolve(base, value)


def _build(data: Mapping[str, Any], file: Path, digest: str) -> SiteConfig:
    base = file.parent
    site = data["site"]
    control = data.get("control", {})
    period = float(control.get("period_s", 1.0))
    links = tuple(_link(lk) for lk in data.get("links", []))
    link_types = {lk.id: lk.protocol or lk.type for lk in links}
    storage = data.get("storage", {})
    state_dir = storage.get("state_dir") or os.environ.get("STATE_DIRECTORY") or DEFAULT_STATE_DIR
    uplink = data.get("uplink", {})
    log = data.get("logging", {})
    return SiteConfig(
        path=file,
        digest=digest,
        site_id=site["id"],
        name=site["name"],
        timezone=site.get("timezone", "UTC"),
        control=Control(
            period_s=period,
            stale_after_s=float(control.get("stale_after_s", 3 * period)),
            lost_after_s=float(control.get("lost_after_s", 10.0)),
            margin_kw=float(control.get("margin_kw", _default_margin_kw(data["limits"]))),
            plan_every_s=float(control.get("plan_every_s", 0.0)),
        ),
        plots=tuple(Plot(p["id"], p.get("name", p["id"])) for p in data.get("plots", [])),
        limits=tuple(_limit(n) for n in data["limits"]),
        links=links,
        devices=tuple(_device(d, link_types) for d in data.get("devices", [])),
        chargers=tuple(_charger(c) for c in data.get("chargers", [])),
        bays=tuple(
            Bay(
                b["id"],
                b["plot"],
                b["charger"],
                Connector(b["connector"]),
                float(b["max_power_kw"]),
                tuple(InletSide(s) for s in b["inlet_sides"]),
                int(b.get("connector_id", 1)),
                _ref(b.get("occupancy_sensor")),
            )
            for b in data.get("bays", [])
        ),
        gates=tuple(_gate(g, base) for g in data.get("gates", [])),
        sessions=_sessions(data.get("sessions", {})),
        access=_access(data.get("access", {})),
        authorization=_authorization(data.get("authorization", {})),
        uplink=UplinkConfig(
            enabled=bool(uplink.get("enabled", "broker" in uplink)),
            broker=uplink.get("broker", ""),
            client_id=uplink.get("client_id", f"edge-{site['id']}"),
            topic_prefix=uplink.get("topic_prefix", f"hubs/{site['id']}").rstrip("/"),
            mqtt_version=uplink.get("mqtt_version", "5"),
            keepalive_s=int(uplink.get("keepalive_s", 30)),
            ca_file=_path(base, uplink.get("ca_file")),
            cert_file=_path(base, uplink.get("cert_file")),
            key_file=_path(base, uplink.get("key_file")),
            snapshot_every_s=float(uplink.get("snapshot_every_s", 10.0)),
            max_inflight=int(uplink.get("max_inflight", 50)),
            rate_limit_msg_s=float(uplink.get("rate_limit_msg_s", 0.0)),
            telemetry_ttl_h=float(uplink.get("telemetry_ttl_h", 168.0)),
            session_expiry_s=int(uplink.get("session_expiry_s", 86_400)),
        ),
        storage=Storage(
            state_dir=_path(base, state_dir) or Path(DEFAULT_STATE_DIR),
            socket=_path(base, storage.get("socket")),
            buffer_budget_mb=float(storage.get("buffer_budget_mb", 512)),
            event_reserve_mb=(
                float(storage["event_reserve_mb"]) if "event_reserve_mb" in storage else None
            ),
        ),
        logging=Logging(level=log.get("level", "info"), areas=frozen_mapping(log.get("areas", {}))),
    )


def _default_margin_kw(limits: list[Mapping[str, Any]]) -> float:
    """2 % of the grid connection: a class 0.5S meter with class 0.5 current transformers
    errs by up to about 1 %, and base load moves within a control period; the margin keeps
    both off the limit. A site that knows better sets `control.margin_kw`."""
    root = next((n for n in limits if n.get("parent") is None), limits[0])
    return round(0.02 * float(root["import_kw"]), 3)


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _sessions(s: Mapping[str, Any]) -> Sessions:
    d = Sessions()
    return Sessions(
        break_dwell_min=float(s.get("break_dwell_min", d.break_dwell_min)),
        break_energy_kwh=float(s.get("break_energy_kwh", d.break_energy_kwh)),
        overnight_dwell_h=float(s.get("overnight_dwell_h", d.overnight_dwell_h)),
        overnight_energy_kwh=float(s.get("overnight_energy_kwh", d.overnight_energy_kwh)),
        overnight_from_min=_minutes(s["overnight_from"])
        if "overnight_from" in s
        else d.overnight_from_min,
        overnight_until_min=_minutes(s["overnight_until"])
        if "overnight_until" in s
        else d.overnight_until_min,
        meter_values_every_s=float(s.get("meter_values_every_s", d.meter_values_every_s)),
        taper_from_pct=float(s.get("taper_from_pct", d.taper_from_pct)),
    )


def _access(a: Mapping[str, Any]) -> Access:
    d = Access()
    return Access(
        qr_keys=MappingProxyType({int(k): v.lower() for k, v in a.get("qr_keys", {}).items()}),
        debounce_s=float(a.get("debounce_s", d.debounce_s)),
        max_read_age_s=float(a.get("max_read_age_s", d.max_read_age_s)),
        max_stay_h=float(a.get("max_stay_h", d.max_stay_h)),
        assign_lead_min=float(a.get("assign_lead_min", d.assign_lead_min)),
        keep_bookings_days=float(a.get("keep_bookings_days", d.keep_bookings_days)),
        ad_hoc_connectors=tuple(Connector(c) for c in a["ad_hoc_connectors"])
        if "ad_hoc_connectors" in a
        else d.ad_hoc_connectors,
        ad_hoc_reserve_min=float(a.get("ad_hoc_reserve_min", d.ad_hoc_reserve_min)),
    )


def _authorization(a: Mapping[str, Any]) -> Authorization:
    d = Authorization()
    return Authorization(
        local_pre_authorize=bool(a.get("local_pre_authorize", d.local_pre_authorize)),
        offline_accept_known=bool(a.get("offline_accept_known", d.offline_accept_known)),
        offline_accept_unknown=bool(a.get("offline_accept_unknown", d.offline_accept_unknown)),
        request_timeout_s=float(a.get("request_timeout_s", d.request_timeout_s)),
    )


def _limit(n: Mapping[str, Any]) -> LimitNode:
    import_kw = float(n["import_kw"])
    return LimitNode(
        id=n["id"],
        name=n.get("name", n["id"]),
        parent=n.get("parent"),
        import_kw=import_kw,
        export_kw=float(n["export_kw"]) if "export_kw" in n else None,
        # Default: half the limit while blind, a conservative guess a site file should replace.
        fallback_kw=float(n.get("fallback_kw", import_kw / 2)),
        meter=n.get("meter"),
        plot=n.get("plot"),
    )


def _link(lk: Mapping[str, Any]) -> Link:
    kind = LinkType(lk["type"])
    params = {k: v for k, v in lk.items() if k not in ("id", "type", "protocol", "timeout_s")}
    default_timeout = 0.5 if kind is LinkType.MODBUS_RTU else 1.0
    return Link(
        id=lk["id"],
        type=kind,
        params=frozen_mapping(params),
        timeout_s=float(lk.get("timeout_s", default_timeout)),
        protocol=LinkType(lk["protocol"]) if "protocol" in lk else None,
    )


def _device(d: Mapping[str, Any], link_types: Mapping[str, LinkType]) -> Device:
    unit = d.get("unit")
    if unit is None and link_types.get(d["link"]) in {LinkType(t) for t in MODBUS_LINKS}:
        unit = 1
    return Device(
        id=d["id"],
        kind=DeviceKind(d["kind"]),
        profile=d.get("profile", OCPP_PROFILE),
        link=d["link"],
        unit=unit,
        role=d.get("role"),
        poll_s=float(d["poll_s"]) if "poll_s" in d else None,
        sim=frozen_mapping(d.get("sim", {})),
        rated_kw=float(d["rated_kw"]) if "rated_kw" in d else None,
        rate_unit=d.get("rate_unit"),
        max_voltage_v=float(d["max_voltage_v"]) if "max_voltage_v" in d else None,
    )


def _charger(c: Mapping[str, Any]) -> Charger:
    return Charger(
        id=c["id"],
        limit=c["limit"],
        max_power_kw=float(c["max_power_kw"]),
        min_power_kw=float(c.get("min_power_kw", 0.0)),
        fallback_kw=float(c.get("fallback_kw", 0.0)),
        device=c.get("device"),
        ramp_kw_s=float(c.get("ramp_kw_s", 50.0)),
        ramp_down_s=float(c.get("ramp_down_s", 10.0)),
        pause_kw=float(c.get("pause_kw", 0.0)),
    )


def _ref(text: str | None) -> PointRef | None:
    if text is None:
        return None
    device, point = text.split(":", 1)
    return PointRef(device, point)


def _gate(g: Mapping[str, Any], base: Path) -> GateLane:
    barrier = _ref(g["barrier_output"])
    assert barrier is not None  # required by the schema
    return GateLane(
        id=g["id"],
        plot=g["plot"],
        direction=g.get("direction", "entry"),
        barrier_output=barrier,
        vehicle_sensor=_ref(g.get("vehicle_sensor")),
        safety_loop=_ref(g.get("safety_loop")),
        reader_port=g.get("reader_port"),
        photocell=_ref(g.get("photocell")),
        position_open=_ref(g.get("position_open")),
        position_closed=_ref(g.get("position_closed")),
        hold_input=_ref(g.get("hold_input")),
        detector_fault=_ref(g.get("detector_fault")),
        readers=tuple(_reader(r, base) for r in g.get("readers", [])),
        **{k: float(g[k]) for k in GATE_TIMINGS if k in g},
    )


def _reader(r: Mapping[str, Any], base: Path) -> Reader:
    return Reader(
        id=r["id"],
        kind=ReaderKind(r["kind"]),
        port=r.get("port"),
        baud=int(r.get("baud", 9600)),
        endpoint=r.get("endpoint"),
        secret_file=_path(base, r.get("secret_file")),
    )
