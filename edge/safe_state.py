"""The site's safe state: what each actuating device is driven to when control cannot decide
(a failed cycle) and on every way out of the daemon (signals, a failed vital task).

* A charger driven over Modbus: its power setpoint to the charger's `fallback_kw`, so it sits
  at the power it would fall back to by itself (cabinets with a watchdog also hold that
  fallback as a standing value, written at start; those without one, e.g. Alpitronic,
  rely on this write alone). A device with several connectors gets every connector's
  setpoint written: `fallback_kw` shared equally among the connectors that have a bay, 0 on
  the others. The shares add up to `fallback_kw`, which the config check sized against
  every limit node; equal, because the safe state must not depend on measurements or
  sessions it can no longer trust. (The reference cabinet's own fallback register holds the
  cabinet's total, as before.)
* A charger cabinet on CAN: released; no command is sent, so its own command timeout
  applies its fallback power.
* A gate lane's barrier output: exit and two-way lanes fail open (a truck inside can always
  leave: a two-way lane may be the only way out), entry lanes fail secure (closed).

The outputs are derived once from the site and the built fleet; the daemon applies them,
each bounded in time, none stopping the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from edge.drivers.profile_common import connector_point
from edge.siteconf.model import Charger, GateLane, SiteConfig

log = logging.getLogger(__name__)

SETPOINT = "power_setpoint_w"
HOOK_TIMEOUT_S = 1.0


@runtime_checkable
class WritesPoints(Protocol):
    async def write_point(self, name: str, value: float) -> None: ...


@runtime_checkable
class Releases(Protocol):
    def release(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SafeOutput:
    name: str  # "charger ch01 -> 50000 W", for the log
    apply: Callable[[], Awaitable[None]]


def lane_safe_value(lane: GateLane) -> float:
    """1 (open) for exit and two-way lanes, 0 (closed) for entry lanes: never trap a truck,
    as the access core's `LaneConfig.of` decides for the same lanes."""
    return 0.0 if lane.direction == "entry" else 1.0


def writable(device: object, point: str) -> bool:
    """Whether the device's profile has this point and it can be written."""
    profile = getattr(device, "profile", None)
    try:
        return bool(profile is not None and profile.point(point).writable)
    except KeyError:
        return False


def _write(device: WritesPoints, point: str, value: float) -> Callable[[], Awaitable[None]]:
    async def apply() -> None:
        await device.write_point(point, value)

    return apply


def _release(device: Releases) -> Callable[[], Awaitable[None]]:
    async def apply() -> None:
        device.release()

    return apply


def connector_fallbacks(
    config: SiteConfig, charger: Charger, device: object
) -> list[tuple[str, float]]:
    """(setpoint point, W) for every connector of the charger's device."""
    count = int(getattr(getattr(device, "profile", None), "connectors", 1))
    total_w = charger.fallback_kw * 1000.0
    if count == 1:
        return [(SETPOINT, total_w)]
    used = {b.connector_id for b in config.bays if b.charger == charger.id}
    used &= set(range(1, count + 1))
    share = total_w / len(used) if used else 0.0
    return [
        (connector_point(SETPOINT, n), share if n in used else 0.0) for n in range(1, count + 1)
    ]


def safe_outputs(config: SiteConfig, devices: Mapping[str, object]) -> list[SafeOutput]:
    """Every actuating device's safe output, from the site and the devices the fleet built."""
    outputs: list[SafeOutput] = []
    for charger in config.chargers:
        device = devices.get(charger.device or "")
        if device is None:
            continue
        if isinstance(device, Releases):
            outputs.append(SafeOutput(f"charger {charger.id} released", _release(device)))
        elif not writable(device, SETPOINT):
            log.warning("safe_output_missing charger=%s: no writable %s", charger.id, SETPOINT)
        elif isinstance(device, WritesPoints):
            for point, watts in connector_fallbacks(config, charger, device):
                if not writable(device, point):
                    log.warning("safe_output_missing charger=%s: no writable %s", charger.id, point)
                    continue
                apply = _write(device, point, watts)
                outputs.append(SafeOutput(f"charger {charger.id} {point}={watts:g}", apply))
    for lane in config.gates:
        device = devices.get(lane.barrier_output.device)
        if not isinstance(device, WritesPoints) or not writable(device, lane.barrier_output.point):
            log.warning("safe_output_missing gate=%s output=%s", lane.id, lane.barrier_output)
            continue
        value = lane_safe_value(lane)
        state = "open" if value else "closed"
        apply = _write(device, lane.barrier_output.point, value)
        outputs.append(SafeOutput(f"gate {lane.id} {lane.barrier_output} {state}", apply))
    return outputs


async def apply_all(outputs: list[SafeOutput], reason: str) -> int:
    """Apply every output at once, each bounded; the number that failed."""

    async def one(output: SafeOutput) -> bool:
        try:
            await asyncio.wait_for(output.apply(), timeout=HOOK_TIMEOUT_S)
        except Exception as exc:  # one failing device must not stop the others
            log.warning("safe_output_failed part=%s reason=%s error=%s", output.name, reason, exc)
            return False
        return True

    results = await asyncio.gather(*(one(o) for o in outputs))
    failed = results.count(False)
    log.info("safe_state_applied reason=%s parts=%d failed=%d", reason, len(outputs), failed)
    return failed
