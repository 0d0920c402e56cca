"""The availability rules (pure): expiry, charger -> bays, last writer by time, reasons."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.availability import (
    Change,
    Kind,
    Source,
    Topology,
    check_reason,
    next_expiry,
    still_relevant,
    view,
)

TOPO = Topology({"B01": "ch01", "B02": "ch01", "B03": "ch02"}, frozenset({"ch01", "ch02"}))
T0 = 1_800_000_000.0


def ch(
    target: str,
    available: bool,
    at: float,
    until: float | None = None,
    reason: str = "r",
    source: Source = Source.TECHNICIAN,
) -> Change:
    kind = TOPO.kind_of(target)
    return Change(target, kind, available, reason, at, until, source, "alice")


def test_disable_until_lapses_back_to_available() -> None:
    changes = [ch("B01", False, T0, until=T0 + 3600, reason="cable swap")]
    assert view(changes, TOPO, T0 + 10).unavailable_bays == ("B01",)
    assert view(changes, TOPO, T0 + 3599.9).unavailable_bays == ("B01",)
    assert view(changes, TOPO, T0 + 3600).unavailable_bays == ()
    assert next_expiry(changes, T0 + 10) == T0 + 3600
    assert next_expiry(changes, T0 + 3600) is None


def test_a_disabled_charger_takes_its_bays_and_keeps_both_reasons() -> None:
    changes = [
        ch("B01", False, T0, reason="cable swap"),
        ch("ch01", False, T0 + 1, reason="fuse", source=Source.CLOUD),
    ]
    v = view(changes, TOPO, T0 + 2)
    assert v.unavailable_bays == ("B01", "B02")
    assert [c.reason for c in v.why(TOPO, "B01")] == ["cable swap", "fuse"]
    assert v.out_of_service["ch01"].kind is Kind.CHARGER
    # Enabling a bay does not beat its disabled charger.
    v = view([*changes, ch("B02", True, T0 + 3)], TOPO, T0 + 4)
    assert v.unavailable_bays == ("B01", "B02")


def test_last_writer_by_time_wins_not_the_order_recorded() -> None:
    later_enable, earlier_disable = ch("B03", True, T0 + 5), ch("B03", False, T0)
    assert view([later_enable, earlier_disable], TOPO, T0 + 6).unavailable_bays == ()
    assert view([earlier_disable, later_enable], TOPO, T0 + 6).unavailable_bays == ()
    tie = [ch("B03", True, T0), ch("B03", False, T0)]  # same time: the later recorded
    assert view(tie, TOPO, T0).unavailable_bays == ("B03",)


def test_enable_until_runs_a_test_charge_then_falls_back_to_disabled() -> None:
    changes = [ch("B03", False, T0, reason="repair"), ch("B03", True, T0 + 60, until=T0 + 600)]
    assert view(changes, TOPO, T0 + 61).unavailable_bays == ()
    back = view(changes, TOPO, T0 + 600)
    assert back.unavailable_bays == ("B03",)
    assert back.out_of_service["B03"].reason == "repair"


def test_still_relevant_drops_lapsed_and_overridden_changes() -> None:
    lapsed = ch("B01", False, T0, until=T0 + 10)
    overridden = ch("B02", False, T0)
    final = ch("B02", True, T0 + 5)
    under_test = ch("B03", False, T0)
    test_charge = ch("B03", True, T0 + 5, until=T0 + 100)
    kept = still_relevant([lapsed, overridden, final, under_test, test_charge], T0 + 20)
    assert kept == [final, under_test, test_charge]


@pytest.mark.parametrize(
    ("reason", "required", "error"),
    [
        ("", True, "required"),
        ("  ", True, "required"),
        ("x" * 201, False, "at most 200"),
        ("forged\nalarm_raised", False, "control characters"),
        ("tab\there", True, "control characters"),
    ],
)
def test_bad_reasons_are_refused(reason: str, required: bool, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_reason(reason, required=required)


def test_unknown_target_is_named() -> None:
    with pytest.raises(ValueError, match="'B99' is neither a bay nor a charger"):
        TOPO.kind_of("B99")


changes_st = st.lists(
    st.builds(
        ch,
        st.sampled_from(["B01", "B02", "B03", "ch01", "ch02"]),
        st.booleans(),
        st.integers(0, 100).map(lambda s: T0 + s),
        st.one_of(st.none(), st.integers(1, 150).map(lambda s: T0 + s)),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(changes_st, st.integers(0, 100), st.integers(0, 200))
def test_pruning_never_changes_what_is_decided_later(
    changes: list[Change], now_s: int, later_s: int
) -> None:
    now, later = T0 + now_s, T0 + now_s + later_s
    # Only changes recorded by `now` are pruned against (the owner never sees future ones).
    changes = [c for c in changes if c.at <= now]
    kept = still_relevant(changes, now)
    assert view(kept, TOPO, later) == view(changes, TOPO, later)
