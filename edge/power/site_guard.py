"""How much the site may import right now, and whether control can trust its data.

The first step of every control decision: with a fresh grid reading the import limit and the
measured headroom apply; with stale or missing data the conservative fallback applies and the
headroom is assumed to be nothing beyond it (evcc's "overload on error").
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.power.budget import NodeMode

# One mode vocabulary: the grid node's mode from `budget.node_budgets` (normal, hold,
# fallback) is the site's mode once power is shared; this assessment only says normal or
# fallback (it describes the grid reading for `edge status`, it does not allocate).
Mode = NodeMode


@dataclass(frozen=True, slots=True)
class GridInputs:
    limit_id: str
    import_limit_w: float
    export_limit_w: float | None
    fallback_w: float
    meter: str | None
    import_w: float | None  # measured at the connection point, + import; None if unusable
    meter_quality: str  # quality word of the meter reading, for the warning
    generation_w: tuple[tuple[str, float | None], ...]  # (device, produced power or None)
    meter_age_s: float | None = None  # since the meter's last good value; None: never read


@dataclass(frozen=True, slots=True)
class SiteAssessment:
    mode: Mode
    import_w: float | None
    import_limit_w: float  # the limit in force this cycle (the fallback when blind)
    headroom_w: float  # what more may be drawn this cycle; never negative
    generation_w: float  # sum of usable generation readings
    warnings: tuple[str, ...]


def assess_site(inputs: GridInputs) -> SiteAssessment:
    warnings: list[str] = []
    generation = 0.0
    for device, power in inputs.generation_w:
        if power is None:
            warnings.append(f"generation {device}: no usable reading")
        else:
            generation += max(0.0, power)
    if inputs.import_w is None:
        why = "no meter configured"
        if inputs.meter is not None:
            why = f"meter {inputs.meter} {inputs.meter_quality}"
            if inputs.meter_age_s is not None:
                why += f" (last good value {inputs.meter_age_s:.1f} s ago)"
        warnings.append(
            f"limit {inputs.limit_id}: {why}; using fallback {inputs.fallback_w / 1000:g} kW"
        )
        return SiteAssessment(
            Mode.FALLBACK, None, inputs.fallback_w, 0.0, generation, tuple(warnings)
        )
    headroom = inputs.import_limit_w - inputs.import_w
    if headroom < 0:
        warnings.append(
            f"limit {inputs.limit_id}: import {inputs.import_w / 1000:.1f} kW above limit "
            f"{inputs.import_limit_w / 1000:g} kW"
        )
    if inputs.export_limit_w is not None and -inputs.import_w > inputs.export_limit_w:
        warnings.append(
            f"limit {inputs.limit_id}: export {-inputs.import_w / 1000:.1f} kW above limit "
            f"{inputs.export_limit_w / 1000:g} kW"
        )
    return SiteAssessment(
        Mode.NORMAL,
        inputs.import_w,
        inputs.import_limit_w,
        max(0.0, headroom),
        generation,
        tuple(warnings),
    )
