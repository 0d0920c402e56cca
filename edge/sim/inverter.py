"""A simulated PV or wind inverter in the plant: it feeds in what sun or wind offers, up to
its active power limit, and follows that limit as a SunSpec 704 inverter does
(`edge/sim/sunspec_sim.py` serves the same rules over Modbus for `edge demo`).

A write sets the limit (% of the rating; export control writes 100 % to release) with a
reversion timer and a reversion level: with no write for longer than the timer, the limit
falls to the reversion level by itself (`WMaxLimPctRvrtTms`, `WMaxLimPctRvrt`) and stays
there until the next write. Export control writes the safe level as the reversion level
(`edge/export_control.py`), so a controller that goes quiet leaves the inverter at the safe
level. A limit applies from the step after the write: the simulated inverter follows
within one control period (real ones settle within about a second; no lag is modelled).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class InverterSim:
    id: str  # "pv" or "wind": the plant's solar or wind
    rated_w: float  # nameplate AC power: what a percentage refers to
    pct: float | None = None  # the limit in force; None: never limited
    revert_s: float = 0.0  # the last write's reversion timer (0: none)
    revert_pct: float = 100.0  # where the limit falls when the timer runs out
    written_at: float | None = None  # None: no write since the last reversion
    reverted: int = 0  # times the timer ran out

    def write(self, pct: float, revert_s: float, revert_pct: float, now: float) -> None:
        """Export control's write: the limit, its reversion timer and level."""
        self.pct, self.revert_s, self.revert_pct = pct, revert_s, revert_pct
        self.written_at = now

    def limit_w(self, now: float) -> float:
        """The active power limit at `now`, after a reversion if the timer ran out."""
        last = self.written_at
        if last is not None and self.revert_s > 0 and now - last > self.revert_s:
            self.pct, self.written_at = self.revert_pct, None
            self.reverted += 1
        return self.rated_w if self.pct is None else self.rated_w * self.pct / 100.0

    def output_w(self, offered_w: float, now: float) -> float:
        """What it feeds in: what its source offers, up to its limit."""
        return max(0.0, min(offered_w, self.limit_w(now)))
