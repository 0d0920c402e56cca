"""The export-limit decision (edge/power/export.py): properties over a plant model and a unit
sequence (curtail, hold in the band, release)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from edge.power.export import (
    BayDraw,
    Curtailment,
    ExportInputs,
    Inverter,
    absorbable_w,
    curtail,
)
from edge.readings import Grade

LIMIT_W, MARGIN_W, BAND_W = 400_000.0, 8_000.0, 5_000.0
TARGET_W = LIMIT_W - MARGIN_W


@dataclass(frozen=True)
class Site:
    """The model the decision is judged against: each inverter gives what its source offers
    up to its limit (settled), the site consumes `load_w` plus the trucks, and the trucks take
    what they said they could (`absorb_w`) next period."""

    rated: tuple[float, ...]
    offered: tuple[float, ...]  # what sun and wind offer each inverter (<= rated)
    load_w: float
    absorb_w: float
    previous: Curtailment

    def output(self, c: Curtailment) -> list[float]:
        if c.pct is None:
            return list(self.offered)
        return [min(o, c.pct / 100.0 * r) for o, r in zip(self.offered, self.rated, strict=True)]

    def inputs(self, meter: Grade = Grade.FRESH) -> ExportInputs:
        out = self.output(self.previous)
        inverters = tuple(
            Inverter(f"inv{i}", r, p) for i, (r, p) in enumerate(zip(self.rated, out, strict=True))
        )
        return ExportInputs(
            LIMIT_W,
            MARGIN_W,
            meter,
            sum(out) - self.load_w,
            inverters,
            self.absorb_w,
            self.previous,
            BAND_W,
        )

    def export_after(self, c: Curtailment) -> float:
        return sum(self.output(c)) - self.load_w - self.absorb_w


@st.composite
def sites(draw: st.DrawFn) -> Site:
    n = draw(st.integers(1, 4))
    rated = tuple(draw(st.floats(10_000, 2_000_000)) for _ in range(n))
    offered = tuple(r * draw(st.floats(0, 1)) for r in rated)
    pct = draw(st.one_of(st.none(), st.integers(0, 100).map(float)))
    previous = (
        Curtailment()
        if pct is None
        else Curtailment(pct / 100.0 * sum(rated), pct, "export above limit")
    )
    return Site(rated, offered, draw(st.floats(0, 3e6)), draw(st.floats(0, 1e6)), previous)


@given(sites())
def test_export_never_above_the_limit_after_curtailment(site: Site) -> None:
    decision = curtail(site.inputs())
    assert site.export_after(decision) <= TARGET_W + 1e-6
    if decision.active:
        assert decision.pct is not None
        assert 0 <= decision.pct <= 100
        assert sum(site.output(decision)) <= decision.cap_w + 1e-6  # type: ignore[operator]


@given(sites())
def test_no_curtailment_when_the_trucks_can_absorb_the_surplus(site: Site) -> None:
    s = Site(site.rated, site.offered, site.load_w, site.absorb_w, Curtailment())
    if s.inputs().export_w - s.absorb_w <= TARGET_W:  # type: ignore[operator]
        assert not curtail(s.inputs()).active


@given(sites())
def test_a_stale_meter_holds_and_a_lost_one_caps_at_the_safe_level(site: Site) -> None:
    held = curtail(site.inputs(Grade.STALE))
    assert (held.cap_w, held.pct) == (site.previous.cap_w, site.previous.pct)
    safe = curtail(site.inputs(Grade.LOST))
    assert safe.cap_w is not None
    assert safe.cap_w <= LIMIT_W
    if site.previous.cap_w is not None:
        assert safe.cap_w <= site.previous.cap_w
    # with no load and no trucks at all, export stays within the limit
    assert sum(site.output(safe)) <= LIMIT_W + 1e-6


def step(site: Site, load_w: float, absorb_w: float = 0.0) -> Site:
    c = curtail(Site(site.rated, site.offered, load_w, absorb_w, site.previous).inputs())
    return Site(site.rated, site.offered, load_w, absorb_w, c)


def test_curtail_hold_in_the_band_then_release() -> None:
    s = Site((500_000.0, 250_000.0), (500_000.0, 250_000.0), 0.0, 0.0, Curtailment())
    s = step(s, 200_000.0)  # 750 kW out, 200 kW load: 550 kW export > 392 kW
    assert s.previous.active
    assert s.previous.reason == "export above limit"
    assert s.export_after(s.previous) <= TARGET_W
    assert s.previous.pct == 78.0  # 592 kW of 750 kW rated, rounded down
    held = step(s, 201_000.0)  # 1 kW less export: inside the band, nothing written
    assert held.previous == Curtailment(s.previous.cap_w, 78.0, "hold")
    s = step(held, 260_000.0)  # more load: raise the cap, export a band below the target
    assert s.previous.reason == "export below limit: raising"
    band = 7_500  # one step (1 %) of 750 kW is wider than BAND_W
    assert TARGET_W - 2 * band <= s.export_after(s.previous) <= TARGET_W - band
    s = step(s, 400_000.0)  # full output now fits: released
    assert s.previous == Curtailment(reason="released")


def test_trucks_absorb_before_anything_is_curtailed() -> None:
    s = Site((750_000.0,), (750_000.0,), 200_000.0, 0.0, Curtailment())
    assert not step(s, 200_000.0, absorb_w=160_000.0).previous.active  # 550 - 160 <= 392
    assert step(s, 200_000.0, absorb_w=150_000.0).previous.active  # 400 > 392


def test_an_inverter_not_read_counts_as_producing_nothing_and_blocks_raising() -> None:
    prev = Curtailment(300_000.0, 40.0, "export above limit")
    blind = (Inverter("a", 750_000.0, None),)
    low = ExportInputs(LIMIT_W, MARGIN_W, Grade.FRESH, 0.0, blind, 0.0, prev, BAND_W)
    assert curtail(low) == Curtailment(300_000.0, 40.0, "hold")
    high = ExportInputs(LIMIT_W, MARGIN_W, Grade.FRESH, 500_000.0, blind, 0.0, prev, BAND_W)
    assert curtail(high).cap_w == 0.0  # 108 kW over with nothing known to cut from: all of it


def test_absorbable_counts_only_bays_the_truck_does_not_limit() -> None:
    bays = [
        BayDraw(400_000.0, 300_000.0, False),  # 100 kW more to come
        BayDraw(400_000.0, 150_000.0, True),  # the truck takes what it wants
        BayDraw(400_000.0, None, False),  # not measured: not counted
        BayDraw(100_000.0, 120_000.0, False),  # above its setpoint: nothing
    ]
    assert absorbable_w(bays) == 100_000.0
