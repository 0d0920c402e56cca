"""Site access, pure core: admission with 1,000 bookings in the horizon, and the decision
time from a credential read to the open command. Prints figures; asserts nothing.

Baselines in the same run: a single pass over the bookings (the floor of any admission that
looks at them), per-truck augmenting-path matching (the textbook way the class matching
replaces), the straightforward ad-hoc check (a pass over the bookings for the trucks due,
then everyone matched again for each need of the newcomer, as before the due index and the
remembered matching), and the three gate-machine steps alone (read -> identified -> grant).

    python -m bench.access [runs]
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace

from edge.access.admission import Arrival, Site, VehicleClass, Via, by_start, decide, needs_for
from edge.access.bookings import Booking, Credentials, Period, Terms
from edge.access.due import DueIndex, demand_of, due_scan
from edge.access.entry import CredentialRead, Directory, EntryRules, Ledger, ReadKind, entry
from edge.access.gate_machine import step
from edge.access.gate_types import Cmd, Event, EventKind, GateState, Lane, LaneConfig, Sensors
from edge.access.matching import BayClasses, Demand, feasible, fits, supply_of
from edge.qr_signature import SiteKeys, TokenIssuer
from edge.sessions import BayState
from edge.siteconf.model import Bay, Connector, InletSide

NOW = 1_767_225_600.0
PLOTS = ("north", "south", "east", "west")
PAIRS_C = (Connector.CCS, Connector.MCS)
PAIRS = [(c, s) for c in (Connector.MCS, Connector.CCS) for s in (InletSide.LEFT, InletSide.RIGHT)]


def make_site(n_bays: int, n_due: int, n_later: int, rng: random.Random) -> Site:
    sides = [(InletSide.LEFT,), (InletSide.RIGHT,), (InletSide.LEFT, InletSide.RIGHT)]
    bays = [
        Bay(f"b{i}", PLOTS[i % 4], "c", rng.choice(list(Connector)), 400, rng.choice(sides))
        for i in range(n_bays)
    ]
    bookings = []
    for i in range(n_due + n_later):
        start = NOW + (rng.uniform(-300, 3600) if i < n_due else rng.uniform(2, 180) * 86_400)
        conn, side = rng.choice(PAIRS)
        bookings.append(
            Booking(
                id=f"bk{i:05d}",
                version=1,
                period=Period(start, start + 2700),
                connector=conn,
                inlet_side=side,
                plot=PLOTS[i % 4],
                credentials=Credentials(tractor_plate=f"AB{i:05d}", trailer_plate=f"TR{i:05d}"),
                terms=Terms(early_start_s=600, noshow_timeout_s=900),
            )
        )
    states = {b.id: BayState.AVAILABLE for b in bays}
    ordered = by_start(bookings)
    # as the gate lanes do: the bookings indexed once per version, the bays once
    return Site(bays, states, ordered, due=DueIndex.build(ordered), classes=BayClasses.of(bays))


def straightforward(site: Site, newcomer: list[Demand], now: float, horizon: float) -> bool:
    """The ad-hoc check as it was: the trucks due by a pass, everyone matched for each need."""
    free = [b for b in site.bays if site.states.get(b.id) is BayState.AVAILABLE]
    supply = supply_of(free)
    kept = [demand_of(b) for b in due_scan(site.bookings, now, horizon)]
    return all(
        feasible([d], supply) and feasible([*kept, *site.in_transit, d], supply) for d in newcomer
    )


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def show(label: str, ms: list[float], base: float | None = None) -> float:
    p50 = statistics.median(ms)
    p99 = sorted(ms)[min(len(ms) - 1, int(len(ms) * 0.99))]
    ratio = f"  ({p50 / base:6.1f} x baseline)" if base else ""
    print(f"{label:<58} p50 {p50:8.3f} ms  p99 {p99:8.3f} ms{ratio}")
    return p50


def kuhn(demands: list[Demand], bays: list[Bay]) -> int:
    """Per-truck augmenting paths (iterative), the baseline the class matching replaces."""
    owner: dict[int, int] = {}
    adj = [[j for j, b in enumerate(bays) if fits(b, d)] for d in demands]
    matched = 0
    for i in range(len(demands)):
        seen: set[int] = set()
        stack = [(i, iter(adj[i]))]
        path: list[tuple[int, int]] = []
        found = False
        while stack and not found:
            d, it = stack[-1]
            for j in it:
                if j in seen:
                    continue
                seen.add(j)
                path.append((d, j))
                if j not in owner:
                    found = True
                else:
                    stack.append((owner[j], iter(adj[owner[j]])))
                break
            else:
                stack.pop()
                if path:
                    path.pop()
        if found:
            for d, j in path:
                owner[j] = d
            matched += 1
    return matched


def admission(runs: int) -> None:
    rng = random.Random(7)
    site = make_site(1200, 1000, 4000, rng)
    due = [b for b in site.bookings if b.period.start < NOW + 3600]
    ad_hoc = Arrival(
        "north",
        VehicleClass.ELECTRIC_TRUCK,
        Via.PLATE,
        None,
        Demand(None, frozenset({PAIRS[3]})),
        2700,
    )
    print(
        f"admission: {len(site.bays)} bays, {len(site.bookings)} bookings, "
        f"{len(due)} due within the horizon"
    )
    floor = show(
        "baseline: one pass over the bookings",
        timed(lambda: sum(b.window()[0] < NOW for b in site.bookings), runs),
    )
    demands = [Demand(b.plot, frozenset({b.need})) for b in due]
    show(
        "baseline: per-truck augmenting paths (1,000 trucks)",
        timed(lambda: kuhn(demands, list(site.bays)), max(3, runs // 20)),
        floor,
    )
    d = decide(site, ad_hoc, NOW)
    newcomer = [Demand("north", ad_hoc.demand.accepts)] if ad_hoc.demand else []
    horizon = d.inputs.horizon_end
    ok = straightforward(site, newcomer, NOW, horizon)
    show(
        f"baseline: straightforward ad-hoc check -> {ok}",
        timed(lambda: straightforward(site, newcomer, NOW, horizon), runs),
        floor,
    )
    show(
        f"decide(): ad hoc, no index -> {d.reason} ({d.inputs.booked_due} due)",
        timed(lambda: decide(replace(site, due=None, classes=None), ad_hoc, NOW), runs),
        floor,
    )
    show(
        f"decide(): ad hoc, due index -> {d.reason} ({d.inputs.booked_due} due)",
        timed(lambda: decide(site, ad_hoc, NOW), runs),
        floor,
    )


def read_to_open(runs: int) -> None:
    rng = random.Random(8)
    site = make_site(1200, 1000, 4000, rng)
    issuer = TokenIssuer(1)
    rules = EntryRules(SiteKeys({1: issuer.public_bytes()}))
    cfg = LaneConfig("in-1", exit=False)
    armed = Lane(cfg, GateState.ARMED, NOW, Sensors(loop_a=True, closed=True))
    inside = [b for b in site.bookings if b.in_window(NOW)]
    booked = inside[0]
    qr_text = issuer.issue(booked.id, int(NOW - 60), int(NOW + 3600))
    t0 = time.perf_counter()
    directory = Directory.build(site.bookings)
    print(
        f"read -> open: {len(site.bookings)} bookings, {len(inside)} inside their window; "
        f"directory built once in {(time.perf_counter() - t0) * 1000:.1f} ms"
    )

    def machine_only() -> None:
        lane, _ = step(armed, Event(EventKind.READ), NOW)
        lane, _ = step(lane, Event(EventKind.IDENTIFIED), NOW)
        _, cmds = step(lane, Event(EventKind.GRANT), NOW)
        assert cmds[0].kind is Cmd.OPEN

    def full(read: CredentialRead) -> Callable[[], None]:
        def run() -> None:
            lane, _ = step(armed, Event(EventKind.READ), NOW)
            _, out = entry(Ledger(), read, site, directory, "north", NOW, rules)
            assert out.event is not None
            assert out.event.kind is EventKind.GRANT, out
            lane, _ = step(lane, Event(EventKind.IDENTIFIED), NOW)
            _, cmds = step(lane, out.event, NOW)
            assert cmds[0].kind is Cmd.OPEN

        return run

    base = show("baseline: gate machine steps only", timed(machine_only, runs))
    plate = booked.credentials.tractor_plate or ""
    show(
        "booked plate (exact match)",
        timed(full(CredentialRead(ReadKind.PLATE, plate, "cam", NOW)), runs),
        base,
    )
    confusable = plate.replace("B", "8")
    show(
        "booked plate read with a confusable (fuzzy match)",
        timed(full(CredentialRead(ReadKind.PLATE, confusable, "cam", NOW)), runs),
        base,
    )
    show(
        "signed QR token (Ed25519 verify)",
        timed(full(CredentialRead(ReadKind.QR, qr_text, "qr", NOW)), runs),
        base,
    )
    adhoc = CredentialRead(ReadKind.PLATE, "NEW0001", "cam", NOW, None, VehicleClass.ELECTRIC_TRUCK)
    any_inlet = Demand(None, frozenset(PAIRS))

    def ad_hoc() -> object:
        return entry(Ledger(), adhoc, site, directory, "north", NOW, rules, any_inlet)

    _, out = entry(Ledger(), adhoc, site, directory, "north", NOW, rules, any_inlet)
    reason = out.decision.reason if out.decision else "-"
    show(f"ad hoc plate, 1,000 due: declared inlet -> {reason}", timed(ad_hoc, runs), base)
    undeclared = replace(rules, policy=replace(rules.policy, ad_hoc_needs=needs_for(PAIRS_C)))

    def ad_hoc_undeclared() -> object:
        return entry(Ledger(), adhoc, site, directory, "north", NOW, undeclared)

    _, out = ad_hoc_undeclared()  # type: ignore[misc]
    reason = out.decision.reason if out.decision else "-"
    show(
        f"ad hoc plate, 1,000 due: inlet not declared -> {reason}",
        timed(ad_hoc_undeclared, runs),
        base,
    )


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {runs} runs each")
    admission(runs)
    read_to_open(runs)


if __name__ == "__main__":
    main()
