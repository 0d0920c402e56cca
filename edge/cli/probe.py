"""`edge probe`: read one device directly (no daemon) and print what it decodes.

With a profile it reads every point of the profile once; with none it walks the device's
SunSpec model chain. Imported only when `edge probe` runs (it loads pymodbus).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from edge.cli.daemon_call import EXIT_FAILURE, EXIT_OK
from edge.cli.render import table
from edge.clock import SystemClock
from edge.drivers import sunspec_models
from edge.drivers.catalog import load_catalog
from edge.drivers.codec import DecodeError, decode_words, plausible
from edge.drivers.line_capacity import Framing
from edge.drivers.modbus_client import ModbusClient, ModbusFailure, SerialLine, TcpEndpoint
from edge.drivers.modbus_link import ModbusLink
from edge.drivers.modbus_profile import Profile, Table
from edge.drivers.read_plan import plan_reads
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.drivers.sunspec_scan import NotSunSpec, read_model, scan

SUNSPEC_SHOWN = frozenset(
    [
        "Mn",
        "Md",
        "SN",
        "Vr",
        "W",
        "WH",
        "TotWhInj",
        "Hz",
        "St",
        "InvSt",
        "WRtg",
        "WMaxRtg",
        "WMaxLimPct",
        "WMaxLimPctEna",
        "WMaxLim_Ena",
    ]
)


class ProbeError(Exception):
    pass


def parse_target(url: str, timeout_s: float) -> tuple[ModbusClient, Framing | None]:
    """`modbus-tcp://HOST[:PORT]` or `modbus-rtu:///dev/ttyX?baud=9600&parity=E&stopbits=1`."""
    parts = urlsplit(url)
    if parts.scheme == "modbus-tcp" and parts.hostname:
        return ModbusClient(TcpEndpoint(parts.hostname, parts.port or 502), timeout_s), None
    if parts.scheme == "modbus-rtu" and parts.path:
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            framing = Framing(
                int(query.get("baud", 9600)),
                query.get("parity", "E"),
                int(query.get("stopbits", 1)),
            )
        except ValueError as exc:
            raise ProbeError(f"target {url}: bad serial settings: {exc}") from exc
        line = SerialLine(parts.path, framing.baud, framing.parity, framing.stopbits)
        return ModbusClient(line, timeout_s), framing
    raise ProbeError(
        f"target {url}: not modbus-tcp://HOST:PORT or modbus-rtu:///dev/ttyX?baud=9600"
    )


async def probe(url: str, unit: int, profile_id: str | None, timeout_s: float) -> dict[str, Any]:
    client, framing = parse_target(url, timeout_s)
    link = ModbusLink("probe", client, SystemClock(), framing=framing, backoff_s=0.0)
    worker = asyncio.create_task(link.run())
    try:
        profiles, _ = load_catalog()
        profile = profiles.get(profile_id) if profile_id else None
        if profile_id and profile is None:
            raise ProbeError(f"profile {profile_id}: unknown (see `edge profiles`)")
        if isinstance(profile, Profile):
            points = await _read_profile(link, unit, profile)
            return {"target": url, "unit": unit, "profile": profile.id, "points": points}
        if profile is not None and not isinstance(profile, SunSpecProfile):
            raise ProbeError(f"profile {profile_id}: {profile.protocol} devices cannot be probed")
        return {"target": url, "unit": unit, "profile": "sunspec", **await _sunspec(link, unit)}
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


async def _read_profile(link: ModbusLink, unit: int, profile: Profile) -> list[dict[str, Any]]:
    rows = []
    for block in plan_reads(profile):
        try:
            words = await link.read(unit, block.table, block.address, block.count)
        except ModbusFailure as exc:
            raise ProbeError(f"unit {unit}: {exc}") from exc
        for point in block.points:
            try:
                value: float | None = decode_words(block.slice_for(point, words), point)
                why = plausible(value, point, None) if value is not None else "no value"
            except DecodeError as exc:
                value, why = None, str(exc)
            label = point.labels.get(int(value)) if value is not None and point.labels else None
            rows.append(
                {
                    "point": point.name,
                    "value": value,
                    "unit": point.unit,
                    "quality": "ok" if why is None else "invalid",
                    "label": label,
                    "why": why,
                    "ref": point.ref,
                }
            )
    return rows


async def _sunspec(link: ModbusLink, unit: int) -> dict[str, Any]:
    async def read(address: int, count: int) -> list[int]:
        return await link.read(unit, Table.HOLDING, address, count)

    try:
        found = await scan(read)
        models = []
        for location in found:
            entry: dict[str, Any] = {"id": location.model_id, "address": location.address}
            entry["length"] = location.length
            if sunspec_models.known(location.model_id):
                values = sunspec_models.decode(location.model_id, await read_model(read, location))
                entry["points"] = {k: v for k, v in values.items() if k in SUNSPEC_SHOWN}
            models.append(entry)
    except (ModbusFailure, NotSunSpec, sunspec_models.SunSpecError) as exc:
        raise ProbeError(f"unit {unit}: SunSpec discovery failed: {exc}") from exc
    return {"models": models}


def render_probe(data: dict[str, Any]) -> str:
    head = f"{data['target']} unit {data['unit']} ({data['profile']})"
    if "points" in data:
        rows = [
            (
                p["point"],
                "-" if p["value"] is None else f"{p['value']:g}",
                p["unit"],
                p["quality"] + (f" ({p['why']})" if p["why"] else ""),
                p["label"] or "",
                p["ref"],
            )
            for p in data["points"]
        ]
        return head + "\n" + table(("POINT", "VALUE", "UNIT", "QUALITY", "LABEL", "REF"), rows)
    lines = [head]
    for model in data["models"]:
        lines.append(f"  model {model['id']} at {model['address']} (L={model['length']})")
        for name, value in (model.get("points") or {}).items():
            lines.append(f"    {name} = {'-' if value is None else value}")
    return "\n".join(lines)


def run_probe(args: argparse.Namespace) -> int:
    try:
        data = asyncio.run(probe(args.target, args.unit, args.profile, args.timeout))
    except ProbeError as exc:
        print(f"edge probe {args.target}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps(data, indent=2) if args.json else render_probe(data))
    return EXIT_OK
