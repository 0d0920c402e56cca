"""The power core's plain inputs, gathered from one frozen snapshot (no I/O, no clock).

The controller (`edge/power_control.py`) calls these each period; they only translate:
node meters and bay reports into graded measurements, and the bays' states into sessions.
All decisions stay in `edge/power/`. Never fail open: a meter value that is not held (never
read, invalid) is `None`, and its grade, not its number, decides the node's mode.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

from edge.chargers.port import BayStatus
from edge.power.budget import BayMeasurement, NodeMeasurement, Sample
from edge.readings import Grade, Snapshot
from edge.sessions import (
    BayState,
    BookedStay,
    Estimate,
    Session,
    SessionKind,
    Source,
    with_booking,
    with_vehicle,
)
from edge.siteconf.model import SiteConfig


def node_measurements(config: SiteConfig, snapshot: Snapshot) -> tuple[NodeMeasurement, ...]:
    """Each metered limit node's last good power with the snapshot's grade for it. A node
    without a meter is left out: the budget treats it as lost (fallback)."""
    out = []
    for node in config.limits:
        if node.meter is None:
            continue
        r = snapshot.reading(node.meter, "power_w")
        held = r.value if r is not None and r.good_at is not None else None
        at = r.good_at if r is not None and held is not None else None
        out.append(NodeMeasurement(node.id, held, snapshot.grade(node.meter, "power_w"), at))
    return tuple(out)


Samples = Mapping[str, tuple[Sample, ...]]  # bay -> its recent fresh readings, oldest first
NO_SAMPLES: Samples = MappingProxyType({})


def bay_measurements(
    config: SiteConfig, statuses: Mapping[str, BayStatus], earlier: Samples = NO_SAMPLES
) -> tuple[BayMeasurement, ...]:
    """What each bay's charger reports it delivers, with when, and its `earlier` readings
    (from `remember_readings`) so the budget can pair it with a meter read before it; a bay
    nobody reports on is lost."""
    out = []
    for bay in config.bays:
        st = statuses.get(bay.id)
        if st is None:
            out.append(BayMeasurement(bay.id, None, Grade.LOST))
            continue
        before = tuple(s for s in earlier.get(bay.id, ()) if st.at is None or s[0] < st.at)
        out.append(BayMeasurement(bay.id, st.power_w, st.grade, st.at, before))
    return tuple(out)


def paired_meters(
    meters: tuple[NodeMeasurement, ...],
    history: Mapping[str, tuple[Sample, ...]],
    bays: tuple[BayMeasurement, ...],
    under: Mapping[str, list[str]],
    oldest: float,
) -> tuple[NodeMeasurement, ...]:
    """Each fresh node meter, replaced by its first reading (from `history`, the values the
    controller saw, oldest first) at or after the latest reading of the bays under it when
    there is one from `oldest` on: the bays were then all read before it, so the budget
    counts them as read with little ramp in between. A meter polled faster than the
    chargers otherwise sees every ramp the chargers' readings have not caught up with, and
    the (safe) base load swings by it."""
    at = {m.bay: m.at for m in bays if m.grade is Grade.FRESH and m.at is not None}
    out = []
    for m in meters:
        latest = max((at[b] for b in under.get(m.node, ()) if b in at), default=None)
        if m.grade is not Grade.FRESH or m.at is None or latest is None or m.at <= latest:
            out.append(m)
            continue
        first = next((s for s in history.get(m.node, ()) if s[0] >= max(latest, oldest)), None)
        out.append(m if first is None else dataclasses.replace(m, power_w=first[1], at=first[0]))
    return tuple(out)


def remember_meters(
    history: Mapping[str, tuple[Sample, ...]], meters: tuple[NodeMeasurement, ...], keep_from: float
) -> dict[str, tuple[Sample, ...]]:
    """Each node meter's fresh values seen (one per read time) from `keep_from` on."""
    out: dict[str, tuple[Sample, ...]] = {}
    for m in meters:
        samples = [s for s in history.get(m.node, ()) if s[0] >= keep_from]
        new = m.grade is Grade.FRESH and m.power_w is not None and m.at is not None
        if (
            new
            and m.at is not None
            and m.power_w is not None
            and (not samples or samples[-1][0] < m.at)
        ):
            samples.append((m.at, m.power_w))
        out[m.node] = tuple(samples)
    return out


def remember_readings(
    earlier: Samples, statuses: Mapping[str, BayStatus], keep_from: float
) -> dict[str, tuple[Sample, ...]]:
    """Each bay's fresh readings (one per read time), oldest first: those read from
    `keep_from` on, and the newest one before it (it brackets a meter read at `keep_from`).
    A bay not fresh now forgets them: readings across a gap say nothing about the gap."""
    out: dict[str, tuple[Sample, ...]] = {}
    for bay, st in statuses.items():
        if st.grade is not Grade.FRESH or st.power_w is None or st.at is None:
            continue
        samples = list(earlier.get(bay, ()))
        if not samples or samples[-1][0] < st.at:
            samples.append((st.at, st.power_w))
        old = [s for s in samples if s[0] < keep_from]
        out[bay] = tuple(old[-1:] + [s for s in samples if s[0] >= keep_from])
    return out


def generation_w(config: SiteConfig, snapshot: Snapshot, role: str) -> float | None:
    """The fresh output of the site's `pv` or `wind` devices; None if any is not fresh
    (shown to the operator only: the budget sees generation through the node meters)."""
    devices = [d for d in config.devices if d.role == role]
    if not devices:
        return None
    values = [snapshot.value(d.id, "power_w") for d in devices]
    return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def default_session(config: SiteConfig, bay: str, start: float) -> Session:
    """The site's `[sessions]` default for a truck that arrived at `start` (UTC epoch s):
    overnight when it arrived inside the overnight window (site local time), else a break."""
    s = config.sessions
    local = datetime.fromtimestamp(start, ZoneInfo(config.timezone))
    if s.overnight_arrival(local.hour * 60 + local.minute):
        kind, dwell_s, wanted_kwh = (
            SessionKind.OVERNIGHT,
            s.overnight_dwell_h * 3600,
            s.overnight_energy_kwh,
        )
    else:
        kind, dwell_s, wanted_kwh = SessionKind.BREAK, s.break_dwell_min * 60, s.break_energy_kwh
    return Session(
        bay=bay,
        start=start,
        kind=kind,
        energy_delivered_wh=0.0,
        energy_wanted_wh=Estimate(wanted_kwh * 1000.0, Source.DEFAULT),
        departure=Estimate(start + dwell_s, Source.DEFAULT),
    )


def track_sessions(
    config: SiteConfig,
    statuses: Mapping[str, BayStatus],
    sessions: Mapping[str, Session],
    wall: float,
    dt_s: float,
    booked: Mapping[str, BookedStay] | None = None,
) -> dict[str, Session]:
    """This period's sessions: a new one (site defaults) when a truck appears on a bay, its
    delivered energy from the charger's counter (else integrated from fresh power over
    `dt_s`), dropped when the bay is seen (fresh) without a truck. A bay not seen this
    period keeps its session: a communication gap is not a departure. What the truck asks
    for itself (the status's `ev_energy_wanted_wh`, `ev_departure`: ISO 15118 through the
    charger) replaces the estimates; a truck that site access knows as a booking's
    (`booked`, by bay) takes the booking's kind, and its estimates where the truck said
    nothing (the booking is applied last and never overwrites the vehicle's figures)."""
    booked = booked or {}
    out: dict[str, Session] = {}
    for bay in config.bays:
        st, old = statuses.get(bay.id), sessions.get(bay.id)
        seen = st is not None and st.grade.value == Grade.FRESH.value
        if st is None or not seen:
            if old is not None:
                out[bay.id] = old
            continue
        if not st.state.has_truck:
            continue
        session = old or default_session(config, bay.id, wall)
        if st.energy_delivered_wh is not None:
            delivered = st.energy_delivered_wh
        elif old is not None and st.state is BayState.CHARGING and st.power_w is not None:
            delivered = old.energy_delivered_wh + max(0.0, st.power_w) * dt_s / 3600.0
        else:
            delivered = session.energy_delivered_wh
        session = dataclasses.replace(session, energy_delivered_wh=delivered)
        session = with_vehicle(session, st.ev_energy_wanted_wh, st.ev_departure)
        stay = booked.get(bay.id)
        out[bay.id] = session if stay is None else with_booking(session, stay)
    return out
