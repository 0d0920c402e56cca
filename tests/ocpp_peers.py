"""In-test OCPP charge points (1.6J and 2.0.1) built with the `ocpp` package, and a site with
an `ocpp` link on 127.0.0.1 port 0, for the peer tests of edge/ocpp/."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from edge.clock import SystemClock
from edge.ocpp.site import OcppSite
from edge.process_image import ProcessImage
from edge.runtime import Daemon
from edge.siteconf.loader import load_site
from tests.polling import wait_until

PASSWORD = "correct-horse-battery"  # 16-40 characters (OCPP AuthorizationKey)

SITE = """
[site]
id = "t"
name = "OCPP test"
[control]
period_s = 1.0
[[limits]]
id = "grid"
import_kw = 2000
fallback_kw = 1000
[[plots]]
id = "p"
[[links]]
id = "ocpp"
type = "ocpp"
host = "127.0.0.1"
port = 1
secrets_file = "secrets.toml"
{extra}
[[devices]]
id = "CP16"
kind = "charger"
link = "ocpp"
{cp16}
[[devices]]
id = "CP201"
kind = "charger"
link = "ocpp"
[[chargers]]
id = "ch16"
limit = "grid"
max_power_kw = 400
fallback_kw = 100
device = "CP16"
[[chargers]]
id = "ch201"
limit = "grid"
max_power_kw = 400
fallback_kw = 100
device = "CP201"
[[bays]]
id = "B1"
plot = "p"
charger = "ch16"
connector = "CCS"
max_power_kw = 400
inlet_sides = ["left"]
connector_id = 1
[[bays]]
id = "B2"
plot = "p"
charger = "ch16"
connector = "CCS"
max_power_kw = 400
inlet_sides = ["left"]
connector_id = 2
[[bays]]
id = "B3"
plot = "p"
charger = "ch201"
connector = "CCS"
max_power_kw = 400
inlet_sides = ["left"]
connector_id = 1
"""


def write_site(folder: Path, extra: str = "", cp16: str = "") -> Path:
    secrets = folder / "secrets.toml"
    secrets.write_text(f'CP16 = "{PASSWORD}"\nCP201 = "{PASSWORD}"\n')
    secrets.chmod(0o600)
    path = folder / "site.toml"
    path.write_text(SITE.replace("{extra}", extra).replace("{cp16}", cp16))
    return path


@dataclass
class Record:
    """What a simulated charge point was asked to do."""

    profiles: list[dict[str, Any]] = field(default_factory=list)
    answer: str = "Accepted"  # or "Rejected", or "error" for a CALLERROR
    resets: list[str] = field(default_factory=list)
    settings: list[tuple[str, str]] = field(default_factory=list)
    rate_unit: str | None = None  # reported when asked (1.6 "Current"/"Power", 2.0.1 "A"/"W")
    asked: list[str] = field(default_factory=list)  # configuration keys / variables asked


class Charger16(Cp16):  # type: ignore[misc]
    def __init__(self, name: str, ws: Any, record: Record) -> None:
        super().__init__(name, ws, response_timeout=10)
        self.record = record

    @on("SetChargingProfile")
    def on_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any], **kw: Any) -> Any:
        if self.record.answer == "error":
            raise ValueError("boom")  # the package answers InternalError
        self.record.profiles.append({"connector": connector_id, **cs_charging_profiles})
        return result16.SetChargingProfile(self.record.answer)

    @on("ChangeConfiguration")
    def on_config(self, key: str, value: str, **kw: Any) -> Any:
        self.record.settings.append((key, value))
        return result16.ChangeConfiguration("Accepted")

    @on("GetConfiguration")
    def on_get_config(self, key: list[str] | None = None, **kw: Any) -> Any:
        self.record.asked += key or []
        if self.record.rate_unit is None:
            return result16.GetConfiguration(unknown_key=key or [])
        rows = [{"key": k, "readonly": True, "value": self.record.rate_unit} for k in key or []]
        return result16.GetConfiguration(configuration_key=rows)

    @on("Reset")
    def on_reset(self, type: str, **kw: Any) -> Any:
        self.record.resets.append(type)
        return result16.Reset("Accepted")


class Charger201(Cp201):  # type: ignore[misc]
    def __init__(self, name: str, ws: Any, record: Record) -> None:
        super().__init__(name, ws, response_timeout=10)
        self.record = record

    @on("SetChargingProfile")
    def on_profile(self, evse_id: int, charging_profile: dict[str, Any], **kw: Any) -> Any:
        self.record.profiles.append({"connector": evse_id, **charging_profile})
        return result201.SetChargingProfile(self.record.answer)

    @on("SetVariables")
    def on_variables(self, set_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        for d in set_variable_data:
            self.record.settings.append((d["variable"]["name"], d["attribute_value"]))
        return result201.SetVariables(
            [{**d, "attribute_status": "Accepted"} for d in set_variable_data]
        )

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **kw: Any) -> Any:
        self.record.asked += [d["variable"]["name"] for d in get_variable_data]
        unit = self.record.rate_unit
        status = (
            {"attribute_status": "Accepted", "attribute_value": unit}
            if unit
            else {"attribute_status": "UnknownVariable"}
        )
        return result201.GetVariables([{**d, **status} for d in get_variable_data])


@contextlib.asynccontextmanager
async def endpoint(
    folder: Path, extra: str = "", cp16: str = "", **hooks: Any
) -> AsyncIterator[OcppSite]:
    """`extra`: more keys of the ocpp link; `cp16`: more keys of the CP16 device."""
    config = load_site(write_site(folder, extra, cp16))
    site = OcppSite(config, ProcessImage(3.0, 10.0), SystemClock(), **hooks)
    for ep in site.endpoints:  # a free port: the site file needs 1-65535
        ep.settings = replace(ep.settings, port=0)
    await site.start()
    try:
        yield site
    finally:
        await site.stop()


def url(
    site: OcppSite | int, identity: str, password: str = PASSWORD, user: str | None = None
) -> str:
    """The charge point's URL on the site's endpoint (or on a port number)."""
    port = site if isinstance(site, int) else site.port()
    return f"ws://{user or identity}:{password}@127.0.0.1:{port}/ocpp/{identity}"


@contextlib.asynccontextmanager
async def charge_point(
    site: OcppSite, identity: str, version: str, record: Record
) -> AsyncIterator[Any]:
    """A connected, booted charge point, its receive loop running."""
    ws = await websockets.connect(url(site, identity), subprotocols=[f"ocpp{version}"])  # type: ignore[list-item]
    cls = Charger16 if version == "1.6" else Charger201
    cp = cls(identity, ws, record)
    task = asyncio.create_task(cp.start())
    try:
        if version == "1.6":
            await cp.call(
                call16.BootNotification("HYC", "Alpi", firmware_version="1.2"), suppress=False
            )
        else:
            station = {"model": "MCS", "vendor_name": "Kempower", "firmware_version": "2.0"}
            await cp.call(call201.BootNotification(station, "PowerUp"), suppress=False)
        yield cp
    finally:
        await ws.close()
        task.cancel()
        with contextlib.suppress(BaseException):
            await task


@contextlib.asynccontextmanager
async def ocpp_daemon(folder: Path) -> AsyncIterator[tuple[Daemon, int]]:
    """The whole daemon on this site, its OCPP endpoint on a free loopback port, running its
    control cycle; stopped at the end, and it must exit 0."""
    site_path = write_site(folder, '[storage]\nstate_dir = "state"\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    site_path.write_text(site_path.read_text().replace("port = 1\n", f"port = {port}\n", 1))
    daemon = Daemon(load_site(site_path), socket_path=folder / "edge.sock")
    runner = asyncio.create_task(daemon.run())
    try:
        await wait_until(lambda: daemon.cycle is not None, 15, "daemon started")
        yield daemon, port
    finally:
        daemon.request_stop()
        exit_code = await asyncio.wait_for(runner, timeout=10)
    assert exit_code == 0
