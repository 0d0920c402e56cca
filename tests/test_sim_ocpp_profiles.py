"""The simulated charge point's profile stack and its offline fallback: pure, no network."""

from __future__ import annotations

import pytest

from edge.sessions import SessionKind
from edge.sim import ocpp_profiles as pf
from edge.sim.ocpp_config import V201, CpConfig
from edge.sim.ocpp_station import Station, Status
from edge.sim.ocpp_wire import to_sim_profile
from edge.sim.plant import Plant, Weather
from edge.sim.trucks import CCS_MAX_W, TruckSpec
from edge.siteconf.loader import load_site

pytestmark = pytest.mark.unit

T0 = 1_781_258_400.0
DEMO = load_site("config/demo.toml")


def prof(
    pid: int, purpose: pf.Purpose, limit_w: float, level: int = 0, connector: int = 1, **kw: object
) -> pf.SimProfile:
    return pf.SimProfile(pid, level, purpose, connector, ((0.0, limit_w),), start_schedule=T0, **kw)  # type: ignore[arg-type]


def test_tx_profile_beats_tx_default_and_higher_stack_levels_win() -> None:
    stack = (
        prof(1, pf.Purpose.TX_DEFAULT, 150_000.0, level=0, connector=0),
        prof(2, pf.Purpose.TX_DEFAULT, 120_000.0, level=1),
        prof(3, pf.Purpose.TX, 60_000.0, transaction_id="7"),
    )
    assert pf.connector_limit_w(stack, 1, T0 + 1, "7", T0) == 60_000.0
    assert pf.connector_limit_w(stack, 1, T0 + 1, "8", T0) == 120_000.0  # not its transaction
    assert pf.connector_limit_w(stack, 2, T0 + 1, "8", T0) == 150_000.0  # connector 0's default
    assert pf.connector_limit_w(stack, 1, T0 + 1, "7", T0, with_tx_profiles=False) == 120_000.0


def test_validity_and_duration_bound_a_profile_and_the_next_level_takes_over() -> None:
    stack = (
        prof(1, pf.Purpose.TX_DEFAULT, 150_000.0, level=0),
        prof(2, pf.Purpose.TX_DEFAULT, 50_000.0, level=5, valid_to=T0 + 60),
        prof(3, pf.Purpose.TX_DEFAULT, 20_000.0, level=9, duration_s=10.0),
    )
    assert pf.connector_limit_w(stack, 1, T0 + 5, None, None) == 20_000.0
    assert pf.connector_limit_w(stack, 1, T0 + 30, None, None) == 50_000.0
    assert pf.connector_limit_w(stack, 1, T0 + 60, None, None) == 150_000.0


def test_periods_step_and_relative_profiles_count_from_the_transaction() -> None:
    steps = pf.SimProfile(
        1, 0, pf.Purpose.TX_DEFAULT, 1, ((0.0, 100.0), (60.0, 200.0)), kind=pf.Kind.RELATIVE
    )
    assert pf.profile_limit_w(steps, T0 + 59, T0) == 100.0
    assert pf.profile_limit_w(steps, T0 + 61, T0) == 200.0
    assert pf.profile_limit_w(steps, T0 + 61, None) is None  # no transaction


def test_same_slot_or_id_replaces_and_clear_matches_every_criterion() -> None:
    stack = pf.install((), prof(1, pf.Purpose.TX_DEFAULT, 100.0))
    stack = pf.install(
        stack, prof(2, pf.Purpose.TX_DEFAULT, 200.0)
    )  # same purpose, level, connector
    assert [p.id for p in stack] == [2]
    stack = pf.install(stack, prof(2, pf.Purpose.STATION_MAX, 300.0, connector=0))  # same id
    assert [p.purpose for p in stack] == [pf.Purpose.STATION_MAX]
    stack = pf.install(stack, prof(4, pf.Purpose.TX_DEFAULT, 1.0))
    kept, removed = pf.clear(stack, purpose=pf.Purpose.TX_DEFAULT, stack_level=1)
    assert removed == 0
    kept, removed = pf.clear(stack, purpose=pf.Purpose.TX_DEFAULT)
    assert (removed, [p.id for p in kept]) == (1, [2])


def test_the_station_cap_scales_the_connectors_together() -> None:
    assert pf.share({1: 300.0, 2: 100.0}, 200.0) == {1: 150.0, 2: 50.0}
    assert pf.share({1: 300.0, 2: 100.0}, None) == {1: 300.0, 2: 100.0}


def test_wire_profiles_of_both_versions_and_amperes_become_watts() -> None:
    v16 = {
        "charging_profile_id": 3,
        "stack_level": 1,
        "charging_profile_purpose": "ChargePointMaxProfile",
        "charging_profile_kind": "Absolute",
        "charging_schedule": {
            "charging_rate_unit": "A",
            "charging_schedule_period": [{"start_period": 0, "limit": 250}],
        },
    }
    p = to_sim_profile(v16, 0, 800.0, T0)
    assert (p.purpose, p.periods, p.start_schedule) == (
        pf.Purpose.STATION_MAX,
        ((0.0, 200_000.0),),
        T0,
    )
    v201 = {
        "id": 4,
        "stack_level": 0,
        "charging_profile_purpose": "TxProfile",
        "charging_profile_kind": "Relative",
        "transaction_id": "cp-1",
        "valid_to": "2026-06-12T10:05:00Z",
        "charging_schedule": [
            {
                "id": 1,
                "charging_rate_unit": "W",
                "charging_schedule_period": [{"start_period": 0, "limit": 9000.0}],
            }
        ],
    }
    p = to_sim_profile(v201, 2, 800.0, T0)
    assert (p.purpose, p.transaction_id, p.valid_to, p.start_schedule) == (
        pf.Purpose.TX,
        "cp-1",
        T0 + 300,
        None,
    )


def _station(**kw: object) -> tuple[Station, Plant]:
    plant = Plant(DEMO.limits, DEMO.chargers, DEMO.bays, DEMO.timezone, T0, Weather(pv_kw=0))
    cfg = CpConfig("cabinet-1", {1: "B01", 2: "B02"}, version=V201, fallback_w=50_000.0, **kw)  # type: ignore[arg-type]
    return Station(cfg, plant), plant


def _truck(tid: str) -> TruckSpec:
    return TruckSpec(
        tid, SessionKind.BREAK, "CCS", T0, T0 + 2700, 540_000.0, 0.2, 200_000.0, CCS_MAX_W
    )


def test_offline_without_a_default_profile_the_station_shares_its_fallback() -> None:
    st, plant = _station()
    st.online = True
    plant.arrive(_truck("A"), "B01")
    plant.arrive(_truck("B"), "B02")
    st.tick(T0)
    assert st.connectors[1].status is Status.CHARGING
    assert st.limits_w(T0) == {1: 400_000.0, 2: 400_000.0}  # no profile: the connector maximum
    tx = st.connectors[1].session.tx_id if st.connectors[1].session else None
    assert st.set_profile(1, prof(9, pf.Purpose.TX, 30_000.0, transaction_id=tx), T0) is None
    st.went_offline()
    assert st.limits_w(T0) == {1: 25_000.0, 2: 25_000.0}  # TxProfile set aside; fallback / 2
    assert st.set_profile(0, prof(1, pf.Purpose.TX_DEFAULT, 120_000.0, connector=0), T0) is None
    assert st.limits_w(T0) == {1: 120_000.0, 2: 120_000.0}  # the standing default profile
    assert plant.bays["B01"].limit_w == 120_000.0


def test_a_tx_profile_without_a_transaction_and_a_station_cap_off_connector_0_are_rejected() -> (
    None
):
    st, _ = _station()
    assert st.set_profile(1, prof(1, pf.Purpose.TX, 1.0), T0) == "no transaction on the connector"
    assert st.set_profile(1, prof(2, pf.Purpose.STATION_MAX, 1.0), T0) is not None
    assert (
        st.set_profile(3, prof(3, pf.Purpose.TX_DEFAULT, 1.0, connector=3), T0) == "no connector 3"
    )
    assert (st.profiles_accepted, st.profiles_rejected) == (0, 3)


def test_going_offline_keeps_the_transaction_messages_and_drops_the_statuses() -> None:
    st, plant = _station()
    st.online = True
    plant.arrive(_truck("A"), "B01")
    st.tick(T0)
    st.meter_items(T0 + 1)
    assert [i.kind for i in st.outbox] == ["status", "start", "status", "meter"]
    st.went_offline()
    assert [i.kind for i in st.outbox] == ["start", "meter"]
    plant.depart("B01")
    st.tick(T0 + 2)  # offline: the stop is queued, the status is not
    assert [i.kind for i in st.outbox] == ["start", "meter", "stop"]
