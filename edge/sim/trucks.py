"""Trucks that behave like trucks: a pure model, no clock, no I/O.

A truck arrives with a battery at some state of charge, wants some energy, and leaves at a
given time (a 45-minute break, or the next morning). Its acceptance falls with the state of
charge (constant current up to a knee, then a constant-voltage-like taper), its draw rises
no faster than its own ramp rate, and it draws min(the charger's present output limit, its
acceptance, the connector's maximum, its own maximum). Once it has what it wanted it stops
drawing (the session ends full); when it leaves, the session ends whatever it got.

`day_arrivals(seed, ...)` makes a reproducible day: lunchtime and evening rushes of break
trucks plus overnight stays, times in the site's own time zone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.sessions import SessionKind

CCS_MAX_W = 400_000.0  # CCS (IEC 61851-23 DC) as used on truck chargers
MCS_MAX_W = 3_750_000.0  # MCS: 3,000 A at 1,250 V
MCS_TRUCK_W = (1_000_000.0, 1_500_000.0)  # what today's MCS tractors accept at most
TAIL = 0.05  # acceptance at full, as a share of the maximum
FULL_TOLERANCE_WH = 500.0  # within this of what it wanted: the truck is full


@dataclass(frozen=True, slots=True)
class TruckSpec:
    """One truck's visit, known in advance (the plant's input, the bound's knowledge)."""

    id: str
    kind: SessionKind
    connector: str  # "CCS" or "MCS", as `bays[].connector`
    arrive: float  # UTC epoch seconds
    leave: float
    battery_wh: float
    soc0: float  # state of charge on arrival, 0..1
    wanted_wh: float  # the energy it wants this visit
    max_w: float  # the most the truck accepts (its inlet and battery)
    knee: float = 0.75  # above this state of charge, acceptance tapers
    ramp_w_s: float = 100_000.0  # how fast its draw may rise
    booked: bool = False  # a booking for it exists (slot from `slot`, else `arrive`)
    slot: float | None = None  # the booked slot's start (UTC epoch s); None: `arrive`
    inlet_side: str = "left"  # where its charging inlet is ("left", "right")
    vehicle: str = "electric-truck"  # admission's vehicle class; others are referred
    plot: str | None = None  # the plot it is booked on / heads for; None: any
    # It tells the charger its energy wanted and departure (ISO 15118, NotifyEVChargingNeeds
    # in OCPP 2.0.1): with `knowledge = "site"` the controller takes them, as the daemon does.
    reports_needs: bool = False

    @property
    def slot_start(self) -> float:
        return self.arrive if self.slot is None else self.slot


def acceptance_w(spec: TruckSpec, soc: float) -> float:
    """What the battery accepts at `soc`: flat up to the knee, then a linear taper to
    `TAIL` of the maximum at full (the shape of a CC/CV charge), 0 when full."""
    if soc >= 1.0:
        return 0.0
    if soc <= spec.knee:
        return spec.max_w
    share = (1.0 - soc) / (1.0 - spec.knee)
    return spec.max_w * max(TAIL, share)


@dataclass(slots=True)
class Truck:
    """A truck on a bay; the plant steps it."""

    spec: TruckSpec
    bay: str
    soc: float
    delivered_wh: float = 0.0
    draw_w: float = 0.0

    @classmethod
    def arrive(cls, spec: TruckSpec, bay: str) -> Truck:
        return cls(spec, bay, spec.soc0)

    @property
    def full(self) -> bool:
        return self.delivered_wh >= self.spec.wanted_wh - FULL_TOLERANCE_WH or self.soc >= 1.0

    def accepts_w(self) -> float:
        return 0.0 if self.full else acceptance_w(self.spec, self.soc)

    def step(self, limit_w: float, connector_max_w: float, dt_s: float) -> float:
        """Draw for `dt_s` under the charger's present output limit; returns the draw."""
        cap = min(limit_w, self.accepts_w(), connector_max_w, self.spec.max_w)
        draw = max(0.0, min(cap, self.draw_w + self.spec.ramp_w_s * dt_s))
        room_wh = max(0.0, self.spec.wanted_wh - self.delivered_wh)
        if draw * dt_s / 3600.0 > room_wh:  # the BMS stops at its target, not past it
            draw = room_wh * 3600.0 / dt_s
        self.draw_w = draw
        self.delivered_wh += draw * dt_s / 3600.0
        self.soc = min(1.0, self.soc + draw * dt_s / 3600.0 / self.spec.battery_wh)
        return draw


@dataclass(frozen=True, slots=True)
class DayShape:
    """How many trucks come when (site local hours); the Antwerp-Bruges contested day."""

    lunch: tuple[float, float, int] = (11.5, 13.5, 34)  # from, until, break trucks
    evening: tuple[float, float, int] = (16.5, 19.0, 30)
    scattered: tuple[float, float, int] = (6.0, 22.0, 10)  # break trucks the rest of the day
    overnight: tuple[float, float, int] = (17.0, 21.0, 14)  # arrivals; they leave 05-07
    mcs_share: float = 0.0  # share of trucks on MCS
    break_dwell_s: float = 45 * 60.0


def local_midnight(wall: float, timezone: str) -> float:
    """UTC epoch seconds of the local midnight that starts the day holding `wall`."""
    tz = ZoneInfo(timezone)
    local = datetime.fromtimestamp(wall, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _at(midnight: float, timezone: str, hours: float) -> float:
    """`hours` after local midnight, across a DST change as the wall clock reads."""
    tz = ZoneInfo(timezone)
    day = datetime.fromtimestamp(midnight, tz)
    return (day + timedelta(hours=hours)).timestamp()


def day_arrivals(
    seed: int, day_wall: float, timezone: str, shape: DayShape | None = None
) -> tuple[TruckSpec, ...]:
    """A reproducible day of trucks for the local day holding `day_wall`."""
    shape = shape or DayShape()
    rnd = random.Random(seed)  # noqa: S311 (traffic, not secrets)
    midnight = local_midnight(day_wall, timezone)
    out: list[TruckSpec] = []
    for lo, hi, n in (shape.lunch, shape.evening, shape.scattered):
        for _ in range(n):
            t = _at(midnight, timezone, rnd.uniform(lo, hi))
            out.append(_break_truck(rnd, t, shape))
    lo, hi, n = shape.overnight
    for _ in range(n):
        t = _at(midnight, timezone, rnd.uniform(lo, hi))
        leave = _at(midnight, timezone, 24.0 + rnd.uniform(5.0, 7.0))
        out.append(_overnight_truck(rnd, t, leave, shape))
    out.sort(key=lambda s: (s.arrive, s.kind))
    return tuple(replace(s, id=f"T{i:03d}") for i, s in enumerate(out))


def _connector(rnd: random.Random, shape: DayShape) -> tuple[str, float]:
    if rnd.random() < shape.mcs_share:
        return "MCS", rnd.uniform(*MCS_TRUCK_W)
    return "CCS", CCS_MAX_W


def _break_truck(rnd: random.Random, t: float, shape: DayShape) -> TruckSpec:
    connector, max_w = _connector(rnd, shape)
    battery = rnd.choice((540_000.0, 600_000.0, 620_000.0))
    soc = rnd.uniform(0.15, 0.35)
    wanted = min(rnd.uniform(150_000.0, 270_000.0), (0.95 - soc) * battery)
    knee = rnd.uniform(0.7, 0.8)
    return TruckSpec(
        "",
        SessionKind.BREAK,
        connector,
        t,
        t + shape.break_dwell_s,
        battery,
        soc,
        wanted,
        max_w,
        knee,
    )


def _overnight_truck(rnd: random.Random, t: float, leave: float, shape: DayShape) -> TruckSpec:
    connector, max_w = _connector(rnd, shape)
    battery = rnd.choice((540_000.0, 600_000.0, 620_000.0))
    soc = rnd.uniform(0.1, 0.3)
    wanted = (0.9 - soc) * battery
    knee = rnd.uniform(0.7, 0.8)
    return TruckSpec(
        "", SessionKind.OVERNIGHT, connector, t, leave, battery, soc, wanted, max_w, knee
    )
