"""Export limit: how far to curtail PV and wind so the grid connection's export stays within
`limits[].export_kw` (the root's: the DSO's export cap). Pure: plain data in, a decision out.

Sign: `export_w` is what the site feeds into the grid (the grid meter's import, negated);
generation is positive. The trucks come first: surplus the chargers can still take this
period (`absorb_w`) is not curtailed. What is left is taken off the curtailable inverters
as one total cap, written to each as the same share of its rating, rounded down (so the
inverters together never exceed the cap).

    target   = export limit − margin
    expected = export − (generation − min(generation, previous cap))   (a cap not yet applied)
    slack    = target + absorb − expected

* slack < 0: lower the cap to min(generation, previous cap) + slack (at least 0).
* curtailing and slack > the band (the hysteresis, at least one step of the limit): raise
  the cap to where export would sit a band below the target; release it altogether once
  even full output at every inverter's rating would keep export within the target.
* otherwise hold the cap (the hysteresis band: no flapping).

The share written is solved for the generation wanted (`_share`): each inverter gives its
output up to its share of its rating, more only where it is at its limit; one share of
unequal outputs does not move the total by the same amount as the cap over the total.

Data quality: an inverter whose output is not fresh counts as producing nothing (a lower
bound: the cap comes out lower, never higher) and blocks raising the cap. Grid meter stale:
hold the cap as it is (no raise, no new curtailment: for up to `lost_after_s`). Grid meter
lost (or missing): cap the inverters at the export limit itself, the safe level that keeps
export within the limit with no load and no charging at all; never raised while blind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from edge.readings import Grade


@dataclass(frozen=True, slots=True)
class Inverter:
    id: str
    rated_w: float  # nameplate AC power: what a percentage limit refers to
    power_w: float | None  # fresh measured output (>= 0); None when not fresh


@dataclass(frozen=True, slots=True)
class Curtailment:
    cap_w: float | None = None  # total allowed to the curtailable inverters; None: no limit
    pct: float | None = None  # the limit written to each, % of its rating; None: no limit
    reason: str = ""  # what decided it, for `edge power` and the log

    @property
    def active(self) -> bool:
        return self.cap_w is not None


@dataclass(frozen=True, slots=True)
class ExportInputs:
    limit_w: float  # the export limit (`export_kw`)
    margin_w: float  # kept free below it (`control.margin_kw`)
    meter: Grade  # the grid meter's grade
    export_w: float | None  # measured export (fresh or stale last good value); None if lost
    inverters: tuple[Inverter, ...]  # the curtailable ones
    absorb_w: float  # what the trucks can still take this period (>= 0)
    previous: Curtailment  # the last decision
    hysteresis_w: float
    pct_step: float = 1.0  # the resolution a limit is written with (rounded down to it)


@dataclass(frozen=True, slots=True)
class BayDraw:
    """A charging bay as the power controller left it this period."""

    setpoint_w: float | None  # written
    power_w: float | None  # measured (fresh), None when not
    vehicle_bound: bool  # the truck draws what it wants: more power would not be taken


def absorbable_w(bays: Iterable[BayDraw]) -> float:
    """What the trucks will still take this period: each bay's setpoint above its draw, for
    bays measured fresh that the truck itself does not limit."""
    return sum(
        max(0.0, b.setpoint_w - b.power_w)
        for b in bays
        if b.setpoint_w is not None and b.power_w is not None and not b.vehicle_bound
    )


def curtail(inputs: ExportInputs) -> Curtailment:
    rated = sum(max(0.0, i.rated_w) for i in inputs.inverters)
    prev = inputs.previous.cap_w
    if rated <= 0:
        return Curtailment(reason="no curtailable inverter")
    if inputs.meter is Grade.LOST or inputs.export_w is None:
        safe = inputs.limit_w if prev is None else min(prev, inputs.limit_w)
        return _capped(safe, rated, inputs.pct_step, "fallback: grid meter lost")
    if inputs.meter is Grade.STALE:
        return Curtailment(inputs.previous.cap_w, inputs.previous.pct, "hold: grid meter stale")
    blind = any(i.power_w is None for i in inputs.inverters)
    generation = sum(max(0.0, i.power_w or 0.0) for i in inputs.inverters)
    effective = generation if prev is None else min(generation, prev)
    expected = inputs.export_w - (generation - effective)
    target = inputs.limit_w - inputs.margin_w
    slack = target + max(0.0, inputs.absorb_w) - expected
    if slack < 0:
        at_limit = math.inf if prev is None else prev / rated - inputs.pct_step / 100
        share = _share(inputs.inverters, max(0.0, effective + slack), at_limit)
        return _capped(share * rated, rated, inputs.pct_step, "export above limit")
    if prev is None:
        return Curtailment()
    # The band is at least one step of the limit: a smaller one would flap on the rounding.
    band = max(inputs.hysteresis_w, inputs.pct_step / 100.0 * rated)
    hold = Curtailment(prev, inputs.previous.pct, "hold")
    if blind or slack <= band:
        return hold
    if expected + (rated - effective) <= target + max(0.0, inputs.absorb_w):
        return Curtailment(reason="released")
    share = _share(inputs.inverters, effective + slack - band, prev / rated - inputs.pct_step / 100)
    raised = max(prev, share * rated)
    if raised >= rated:
        return Curtailment(reason="released")
    out = _capped(raised, rated, inputs.pct_step, "export below limit: raising")
    return hold if out.pct == inputs.previous.pct else out


def _share(inverters: tuple[Inverter, ...], generation_w: float, at_limit: float) -> float:
    """The share of every rating at which the inverters together give `generation_w`, each
    giving its output up to its limit, and more only where it is at its limit (output at
    least `at_limit` of its rating): one share of unequal outputs is not one total."""
    gives = sorted(
        (math.inf if out >= at_limit * i.rated_w else out / i.rated_w, i.rated_w)
        for i in inverters
        if i.rated_w > 0
        for out in (max(0.0, i.power_w or 0.0),)
    )
    fixed, slope = 0.0, sum(r for _, r in gives)
    for ratio, rated in gives:
        share = (generation_w - fixed) / slope
        if share <= ratio:
            return max(0.0, share)
        fixed, slope = fixed + ratio * rated, slope - rated
    return 1.0


def hysteresis_w_of(limit_w: float) -> float:
    """The band export may sit below the target before a cap is raised (2 kW, 2 %)."""
    return max(2000.0, 0.02 * limit_w)


def safe_pct_of(limit_w: float, rated_w: float) -> float:
    """The safe level: the export limit as a share of the inverters' rating (0 unknown)."""
    return 0.0 if rated_w <= 0 else min(100.0, math.floor(limit_w / rated_w * 100.0))


def _capped(cap_w: float, rated_w: float, step: float, reason: str) -> Curtailment:
    """The cap as one share of every rating, rounded down to `step` %; the cap reported is
    what that share allows (never more than asked)."""
    pct = min(100.0, math.floor(cap_w / rated_w * 100.0 / step) * step)
    return Curtailment(pct / 100.0 * rated_w, pct, reason)
