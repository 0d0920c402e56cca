"""Where profiles are found: the ones shipped in edge/drivers/profiles, plus site folders."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from edge.drivers.can_profile import CanProfile, load_can_profile
from edge.drivers.gpio_profile import GpioProfile, load_gpio_profile
from edge.drivers.line_plan import planned_reads
from edge.drivers.modbus_profile import Profile, load_profile
from edge.drivers.profile_common import ProfileError, read_profile_file
from edge.drivers.read_plan import plan_reads
from edge.drivers.sunspec_profile import SunSpecProfile, load_sunspec_profile

AnyProfile = Profile | SunSpecProfile | CanProfile | GpioProfile

SHIPPED = Path(__file__).parent / "profiles"


def profile_dirs() -> tuple[Path, ...]:
    """Shipped profiles first; EDGE_PROFILE_PATH (colon-separated) adds site-local folders."""
    extra = [Path(p) for p in os.environ.get("EDGE_PROFILE_PATH", "").split(":") if p]
    return (SHIPPED, *extra)


def load_any_profile(path: Path) -> AnyProfile:
    """Load a profile file of any protocol (the file's `protocol` key, default modbus)."""
    data = read_profile_file(path)
    protocol = data.get("protocol", "modbus")
    if protocol == "modbus":
        return load_profile(path, data)
    if protocol == "sunspec":
        return load_sunspec_profile(path, data)
    if protocol == "can":
        return load_can_profile(path, data)
    if protocol == "gpio":
        return load_gpio_profile(path, data)
    raise ProfileError(
        f"{path.name}: protocol: {protocol!r} is not one of modbus, sunspec, can, gpio"
    )


def load_catalog(dirs: Iterable[Path] | None = None) -> tuple[dict[str, AnyProfile], list[str]]:
    """All loadable profiles by id, and an error line for each file that is not."""
    profiles: dict[str, AnyProfile] = {}
    errors: list[str] = []
    for folder in dirs or profile_dirs():
        for path in sorted(folder.glob("*.toml")):
            try:
                profile = load_any_profile(path)
            except ProfileError as exc:
                errors.append(str(exc))
                continue
            if profile.id in profiles:
                errors.append(
                    f"{path.name}: id: duplicate profile id {profile.id!r} "
                    f"(also in {profiles[profile.id].source.name})"
                )
                continue
            profiles[profile.id] = profile
    return profiles, errors


@cache
def shipped_catalog() -> dict[str, AnyProfile]:
    profiles, _ = load_catalog()
    return profiles


def profile_index() -> dict[str, dict[str, Any]]:
    """What the site-file checks need per profile id: kind, protocol, each point's access ("rw" for
    any writable point), its connectors, and the reads it plans (for the RS-485 capacity check)."""
    return {
        pid: {
            "kind": p.kind,
            "protocol": p.protocol,
            "points": {pt.name: "rw" if pt.writable else "r" for pt in p.points},
            "connectors": getattr(p, "connectors", 1),
            "reads": planned_reads(plan_reads(p)) if isinstance(p, Profile) else [],
        }
        for pid, p in shipped_catalog().items()
    }
