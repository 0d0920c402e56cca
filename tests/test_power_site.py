"""Site builders shared by the power tests, and the constraint tree they rely on."""

from __future__ import annotations

from edge.power.allocation_model import AllocationInputs, BayInput, ChargerTuning
from edge.power.allocator import allocate
from edge.power.budget import NodeBudget, NodeMode
from edge.power.constraint_tree import build_tree, usage
from edge.sessions import BayState, Estimate, Session, SessionKind, Source
from edge.siteconf.model import Bay, Charger, Connector, InletSide, LimitNode

Site = tuple[tuple[LimitNode, ...], tuple[Charger, ...], tuple[Bay, ...]]


def hub(
    chargers: int = 15,
    grid_kw: float = 3500.0,
    feeders_kw: tuple[float, ...] = (2200.0, 2000.0),
    charger_kw: float = 400.0,
    min_kw: float = 20.0,
    bays_per_charger: int = 2,
) -> Site:
    """The Antwerp-Bruges shape: grid -> feeders -> 400 kW cabinets -> two bays each."""
    limits = [LimitNode("grid", "grid", None, grid_kw, None, grid_kw * 0.4, "m-grid", None)]
    for i, kw in enumerate(feeders_kw):
        limits.append(LimitNode(f"f{i}", f"f{i}", "grid", kw, None, kw * 0.4, f"m-f{i}", None))
    chs, bays = [], []
    for c in range(chargers):
        parent = f"f{c % len(feeders_kw)}" if feeders_kw else "grid"
        chs.append(Charger(f"ch{c:03}", parent, charger_kw, min_kw, 50.0, None))
        for k in range(bays_per_charger):
            bays.append(
                Bay(f"B{c:03}{k}", "p", f"ch{c:03}", Connector.CCS, charger_kw, (InletSide.LEFT,))
            )
    return tuple(limits), tuple(chs), tuple(bays)


def normal_budgets(
    site: Site, available_kw: dict[str, float] | None = None
) -> tuple[NodeBudget, ...]:
    avail = available_kw or {}
    return tuple(
        NodeBudget(
            n.id,
            NodeMode.NORMAL,
            n.import_kw * 1000,
            f"limit:{n.id}",
            0.0,
            0.0,
            avail.get(n.id, n.import_kw) * 1000,
            "",
        )
        for n in site[0]
    )


def session(
    bay: str,
    kind: SessionKind,
    now: float,
    wanted_kwh: float,
    dwell_s: float,
    got_kwh: float = 0.0,
    source: Source = Source.BOOKING,
) -> Session:
    """A session whose wants are known (`source`); `Source.DEFAULT`: the site's guess."""
    return Session(
        bay,
        now,
        kind,
        got_kwh * 1000,
        Estimate(wanted_kwh * 1000, source),
        Estimate(now + dwell_s, source),
    )


def inputs_for(
    site: Site,
    bay_inputs: tuple[BayInput, ...],
    budgets: tuple[NodeBudget, ...] | None = None,
    pause_w: float = 0.0,
    out_of_service: frozenset[str] = frozenset(),
) -> AllocationInputs:
    return AllocationInputs(
        site[0],
        site[1],
        site[2],
        budgets if budgets is not None else normal_budgets(site),
        bay_inputs,
        tuple(ChargerTuning(c.id, pause_w=pause_w) for c in site[1]),
        out_of_service,
    )


def charging(site: Site, now: float, kind: SessionKind = SessionKind.BREAK) -> tuple[BayInput, ...]:
    return tuple(
        BayInput(b.id, BayState.CHARGING, session(b.id, kind, now, 300, 2700)) for b in site[2]
    )


def test_tree_paths_run_from_charger_to_root() -> None:
    site = hub(chargers=3, feeders_kw=(1000.0, 900.0))
    tree = build_tree(*site, normal_budgets(site))
    assert tree.paths["B0000"] == ("charger:ch000", "limit:f0", "limit:grid")
    assert tree.paths["B0011"] == ("charger:ch001", "limit:f1", "limit:grid")
    assert tree.capacity_w["limit:f1"] == 900_000
    used = usage(tree, {"B0000": 10.0, "B0011": 5.0})
    assert used["limit:grid"] == 15.0
    assert used["limit:f0"] == 10.0


def test_a_charger_out_of_service_drops_out_with_its_bays() -> None:
    site = hub(chargers=2, feeders_kw=())
    tree = build_tree(*site, normal_budgets(site), frozenset({"ch001", "B0001"}))
    assert set(tree.paths) == {"B0000"}
    assert "charger:ch001" not in tree.capacity_w


def test_a_charger_without_a_minimum_feeds_an_overnight_truck_with_hours_to_spare() -> None:
    # min 0 kW and no pause: the truck is neither in the needs step (slack > 1 h) nor lifted
    # to a minimum, yet it must share what is left (it got nothing before this was fixed).
    site = hub(chargers=1, feeders_kw=(), min_kw=0.0, bays_per_charger=1)
    now = 100_000.0
    bays = (
        BayInput(
            "B0000", BayState.CHARGING, session("B0000", SessionKind.OVERNIGHT, now, 500, 36_000)
        ),
    )
    got = allocate(inputs_for(site, bays), now).power_w()
    assert abs(got["B0000"] - 400_000) < 1.0
