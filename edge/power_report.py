"""What one control period decided, as rows for `edge bays`, `edge power`, `edge status`
and the `telemetry/site` bay rows. Pure: built from the period's values, no I/O.

Per node: limit in force, base load (non-charging load: meter minus the chargers' measured
sum), solar and wind (the site's `pv`/`wind` devices, shown on the root node only: they
count through the meters), margin, available (the budget), headroom (budget minus what the
chargers under the node draw now), mode and why. Per bay: state, session kind, power now,
setpoint (what was written), allocated power and what binds it (while the setpoint is
still below the allocation: `ramp:<charger>` as it rises at the charger's `ramp_kw_s`, or
`break-before-make` while it waits for power confirmed freed), energy delivered and
wanted, departure (UTC epoch s) and slack (s to spare at the bay's maximum).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge.chargers.port import BayStatus
from edge.power.allocation_model import Allocation, Setpoint
from edge.power.budget import NodeBudget, NodeMode
from edge.power.dispatch_plan import HYSTERESIS_W
from edge.power_inputs import generation_w
from edge.readings import Snapshot
from edge.sessions import Session
from edge.siteconf.model import Bay, SiteConfig

if TYPE_CHECKING:  # the controller builds these reports: no import cycle at run time
    from edge.power_control import PowerController


@dataclass(frozen=True, slots=True)
class PowerReport:
    site_mode: NodeMode  # the root node's mode
    nodes: tuple[dict[str, Any], ...]
    bays: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]  # why a node is not in normal mode
    root_id: str = ""  # the grid connection (the limit tree's root)

    @property
    def root(self) -> dict[str, Any] | None:
        """The grid connection's row."""
        return next((n for n in self.nodes if n["id"] == self.root_id), None)


def _finite(x: float) -> float | None:
    return x if x not in (float("inf"), float("-inf")) else None


def build_report(
    config: SiteConfig,
    snapshot: Snapshot,
    statuses: Mapping[str, BayStatus],
    sessions: Mapping[str, Session],
    budgets: tuple[NodeBudget, ...],
    allocation: Allocation,
    commanded: Mapping[str, float],
    margin_w: float,
    held: tuple[str, ...] = (),
) -> PowerReport:
    """`held`: bays whose increase waits for confirmed freed power (break before make)."""
    root = config.root_limit().id
    solar = generation_w(config, snapshot, "pv")
    wind = generation_w(config, snapshot, "wind")
    nodes = tuple(
        {
            "id": b.node,
            "mode": b.mode.value,
            "limit_w": b.limit_w,
            "binding": b.binding,
            "base_w": b.base_w,
            "solar_w": solar if b.node == root else None,
            "wind_w": wind if b.node == root else None,
            "margin_w": 0.0 if b.mode is NodeMode.FALLBACK else margin_w,
            "available_w": b.available_w,
            "charging_w": b.charging_w,
            "headroom_w": max(0.0, b.available_w - b.charging_w),
            "reason": b.reason,
        }
        for b in budgets
    )
    setpoints = {p.bay: p for p in allocation.setpoints}
    bays = tuple(
        _bay_row(
            b,
            statuses.get(b.id),
            sessions.get(b.id),
            setpoints[b.id],
            commanded.get(b.id),
            snapshot.wall,
            b.id in held,
        )
        for b in config.bays
    )
    site_mode = next((b.mode for b in budgets if b.node == root), NodeMode.FALLBACK)
    warnings = tuple(
        f"limit {b.node}: {b.mode.value}: {b.reason}{_age(config, snapshot, b.node)}"
        for b in budgets
        if b.reason
    )
    return PowerReport(site_mode, nodes, bays, warnings, root)


def _age(config: SiteConfig, snapshot: Snapshot, node: str) -> str:
    meter = next(n.meter for n in config.limits if n.id == node)
    r = snapshot.reading(meter, "power_w") if meter is not None else None
    if r is None or r.good_at is None:
        return ""
    return f" (last good value {max(0.0, snapshot.taken_at - r.good_at):.1f} s ago)"


def _bay_row(
    bay: Bay,
    st: BayStatus | None,
    s: Session | None,
    sp: Setpoint,
    setpoint_w: float | None,
    now: float,
    held: bool = False,
) -> dict[str, Any]:
    binding = sp.binding  # what limits the allocation; the setpoint may lag behind it:
    if setpoint_w is not None and setpoint_w < sp.power_w - HYSTERESIS_W:
        binding = "break-before-make" if held else f"ramp:{bay.charger}"
    return {
        "id": bay.id,
        "charger": bay.charger,
        "state": st.state.value if st is not None else None,
        "grade": st.grade.value if st is not None else "lost",
        "kind": s.kind.value if s is not None else None,
        "booking": s.booking if s is not None else None,  # the booking its truck came on
        "power_w": st.power_w if st is not None else None,
        "soc_pct": st.soc_pct if st is not None else None,  # the truck's, when reported
        "setpoint_w": setpoint_w,
        "allocated_w": sp.power_w,
        "binding": binding,
        "energy_delivered_wh": s.energy_delivered_wh if s is not None else None,
        "energy_wanted_wh": s.energy_wanted_wh.value if s is not None else None,
        "wanted_from": s.energy_wanted_wh.source.value if s is not None else None,
        "departure": s.departure.value if s is not None else None,
        "departure_from": s.departure.source.value if s is not None else None,
        "slack_s": _finite(s.slack_s(now, bay.max_power_kw * 1000.0)) if s is not None else None,
    }


def power_page(
    config: SiteConfig,
    report: PowerReport | None,
    mode: str,
    power: PowerController | None,
    limits: list[dict[str, Any]],
    now: float = 0.0,
) -> dict[str, Any]:
    """The local API's `power` (and `edge status`'s `power`); `now`: the wall time."""
    return {
        "mode": mode,
        "nodes": list(report.nodes) if report is not None else [],
        "writes": power.writes if power is not None else 0,
        "write_failures": power.write_failures if power is not None else 0,
        "failing": dict(power.failing) if power is not None else {},
        "limits": limits,
        "timezone": config.timezone,
        "plan": _plan_row(power, now),
    }


def _plan_row(power: PowerController | None, now: float) -> dict[str, Any] | None:
    """The plan's state (`control.plan_every_s`); None when the site has no plan."""
    worker = power.planner if power is not None else None
    if worker is None:
        return None
    plan = worker.plan
    return {
        "every_s": worker.every_s,
        "age_s": None if plan is None else round(max(0.0, now - plan.made_at), 1),
        "bays": 0 if plan is None else len(plan.power_w),
        "served": 0 if plan is None else len(plan.served),
        "failures": worker.failures,
    }


def bays_page(config: SiteConfig, report: PowerReport | None) -> dict[str, Any]:
    """The local API's `bays`."""
    return {
        "bays": list(report.bays) if report is not None else [],
        "timezone": config.timezone,
    }
