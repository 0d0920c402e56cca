"""Checks of OCPP links and the chargers on them (docs/ocpp.md).

An `ocpp` link is where the edge listens for charge points (host, port, optional TLS files,
the secrets file with each charge point's password). A device on it is a charger that has no
register profile: the charge point speaks OCPP, and its id is its OCPP identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from edge.siteconf.raw_items import Report, items, num

OCPP_ONLY = (
    "cert_file",
    "key_file",
    "secrets_file",
    "heartbeat_s",
    "meter_values_s",
    "profile_threshold_kw",
    "profile_min_interval_s",
    "profile_validity_s",
    "max_message_kb",
    "max_calls_per_s",
)


def check_ocpp(
    data: Mapping[str, Any],
    links: Mapping[str, dict[str, Any]],
    report: Report,
    warn: Report | None = None,
) -> None:
    for i, link in items(data, "links"):
        if link.get("type") == "ocpp":
            _check_link(i, link, report)
        else:
            for key in OCPP_ONLY:
                if key in link:
                    report(("links", i, key), f"only for ocpp links (this is {link.get('type')})")
    for i, dev in items(data, "devices"):
        on_ocpp = links.get(str(dev.get("link")), {}).get("type") == "ocpp"
        if not on_ocpp:
            _check_off_ocpp(i, dev, report)
            continue
        _check_device(i, dev, report)
    if warn is not None:
        _check_threshold(data, links, warn)


def _check_device(i: int, dev: Mapping[str, Any], report: Report) -> None:
    """A charger device on an ocpp link."""
    if dev.get("kind") not in (None, "charger"):
        report(
            ("devices", i, "kind"),
            f"{dev.get('kind')!r} on an ocpp link: only chargers speak OCPP",
        )
    for key in ("profile", "unit", "poll_s"):
        if key in dev:
            report(
                ("devices", i, key), "not used by OCPP charge points (they report by themselves)"
            )
    sim = dev.get("sim")
    if isinstance(sim, dict) and set(sim) - {"ocpp"}:
        report(("devices", i, "sim"), "on an ocpp link only `ocpp` (the simulated version)")


def _check_off_ocpp(i: int, dev: Mapping[str, Any], report: Report) -> None:
    for key in ("rate_unit", "max_voltage_v"):
        if key in dev:
            report(("devices", i, key), "only for chargers on an ocpp link")
    if "profile" not in dev:
        report(("devices", i, "profile"), "missing: a device needs a profile (or an ocpp link)")


def _check_threshold(
    data: Mapping[str, Any], links: Mapping[str, dict[str, Any]], warn: Report
) -> None:
    """A limit that moves less than the threshold is not sent, so each OCPP bay may hold up to
    the threshold above its setpoint: together they must fit in the margin kept free."""
    ocpp_devices = {
        str(d.get("id"))
        for _, d in items(data, "devices")
        if links.get(str(d.get("link")), {}).get("type") == "ocpp"
    }
    chargers = {
        str(c.get("id")) for _, c in items(data, "chargers") if c.get("device") in ocpp_devices
    }
    bays = sum(1 for _, b in items(data, "bays") if b.get("charger") in chargers)
    control = data.get("control")
    roots = [n for _, n in items(data, "limits") if n.get("parent") is None]
    if not bays or len(roots) != 1:
        return
    default_margin = 0.02 * num(roots[0], "import_kw")
    margin = (
        num(control, "margin_kw", default_margin) if isinstance(control, dict) else default_margin
    )
    for i, link in items(data, "links"):
        threshold = num(link, "profile_threshold_kw", 1.0)
        if link.get("type") == "ocpp" and bays * threshold > margin:
            warn(
                ("links", i, "profile_threshold_kw"),
                f"{bays} OCPP bays x {threshold:g} kW exceeds control.margin_kw {margin:g} kW: "
                "moves within the threshold are not sent, so the bays could overrun a limit",
            )


def _check_link(i: int, link: Mapping[str, Any], report: Report) -> None:
    for key in ("host", "port", "secrets_file"):
        if key not in link:
            report(("links", i, key), f"missing: an ocpp link needs {key!r}")
    port = link.get("port")
    if port is not None and (
        isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
    ):
        report(("links", i, "port"), f"must be a TCP port 1..65535, got {port!r}")
    if ("cert_file" in link) != ("key_file" in link):
        report(("links", i), "cert_file and key_file go together (wss: certificate and its key)")


def check_ocpp_files(data: Mapping[str, Any], base: Path | None, report: Report) -> None:
    """The TLS files exist and the secrets file is private and readable, as the user who runs
    the check (run `edge config check` as the service user)."""
    from edge.ocpp.secrets import SecretsError, load_secrets  # noqa: PLC0415
    from edge.siteconf.host_checks import resolve  # noqa: PLC0415 (host_checks imports us)

    if base is None:
        return
    for i, link in items(data, "links"):
        if link.get("type") != "ocpp":
            continue
        for key in ("cert_file", "key_file"):
            value = link.get(key)
            if isinstance(value, str) and not resolve(base, value).is_file():
                report(("links", i, key), f"file not found: {resolve(base, value)}")
        secrets = link.get("secrets_file")
        if isinstance(secrets, str):
            try:
                load_secrets(resolve(base, secrets))
            except SecretsError as exc:
                report(("links", i, "secrets_file"), str(exc))
