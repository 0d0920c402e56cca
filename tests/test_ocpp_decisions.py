"""Pure parts of edge/ocpp: status words onto BayState, meter values onto points, which
profile to send and when, the secrets file's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.ocpp.profiles import Purpose, Rules, Sent, bay_order, decide, standing_orders
from edge.ocpp.secrets import SecretsError, load_secrets
from edge.ocpp.states import CODE, STATE, WORDS, bay_state, meter_points, v201_word
from edge.sessions import BayState

RULES = Rules(threshold_w=1000.0, min_interval_s=0.5, validity_s=60.0)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("Available", BayState.AVAILABLE),
        ("Preparing", BayState.OCCUPIED),
        ("Charging", BayState.CHARGING),
        ("SuspendedEV", BayState.SUSPENDED_EV),
        ("SuspendedEVSE", BayState.SUSPENDED_EVSE),
        ("Finishing", BayState.FINISHING),
        ("Reserved", BayState.AVAILABLE),
        ("Unavailable", BayState.UNAVAILABLE),
        ("Faulted", BayState.FAULTED),
        ("Occupied", BayState.OCCUPIED),
        ("EVConnected", BayState.OCCUPIED),
    ],
)
def test_words_onto_bay_states(word: str, state: BayState) -> None:
    assert bay_state(CODE[word]) == (state, word)


def test_every_word_has_a_state_and_unknown_codes_are_unavailable() -> None:
    assert set(WORDS) == set(STATE)
    assert bay_state(None) == (BayState.UNAVAILABLE, "no status")
    assert bay_state(99)[0] is BayState.UNAVAILABLE
    assert bay_state(1.5)[0] is BayState.UNAVAILABLE


def test_v201_word_joins_connector_status_and_charging_state() -> None:
    assert v201_word("Occupied", "SuspendedEV") == "SuspendedEV"
    assert v201_word("Occupied", None) == "Occupied"
    assert v201_word("Faulted", "Charging") == "Faulted"  # the plug's fault wins


def test_meter_points_scale_and_skip_phases() -> None:
    v16 = [{"sampled_value": [
        {"value": "1.5", "measurand": "Power.Active.Import", "unit": "kW"},
        {"value": "99", "measurand": "Power.Active.Import", "unit": "kW", "phase": "L1"},
        {"value": "12"},  # default measurand: the energy register, in Wh
        {"value": "55", "measurand": "SoC", "unit": "Percent"},
        {"value": "nan", "measurand": "Power.Offered", "unit": "W"},
        {"value": "7", "measurand": "Power.Active.Import", "unit": "VA"},
        {"value": "1234", "format": "SignedData"},
    ]}]  # fmt: skip
    assert meter_points(v16) == {"power_w": 1500.0, "energy_register_wh": 12.0, "ev_soc_pct": 55.0}
    v201 = [{"sampled_value": [
        {"value": 2.0, "measurand": "Energy.Active.Import.Register",
         "unit_of_measure": {"unit": "Wh", "multiplier": 3}},
    ]}]  # fmt: skip
    assert meter_points(v201) == {"energy_register_wh": 2000.0}


def test_decide_sends_new_moved_and_refresh_only() -> None:
    assert decide(None, 1000.0, None, 0.0, 0.0, RULES).why == "new"
    last = Sent(50_000.0, at=10.0, valid_to=1060.0, transaction_id=None)
    assert decide(last, 50_900.0, None, 20.0, 1000.0, RULES).send is False  # within threshold
    assert decide(last, 52_000.0, None, 20.0, 1000.0, RULES).why == "moved"
    assert decide(last, 40_000.0, None, 10.1, 1000.0, RULES).why == "moved"  # down: at once
    assert decide(last, 60_000.0, None, 10.1, 1000.0, RULES).why == "rate-limited"  # up: waits
    assert decide(last, 50_000.0, "7", 20.0, 1000.0, RULES).why == "transaction"
    assert decide(last, 50_000.0, None, 20.0, 1031.0, RULES).why == "refresh"  # half gone


def test_orders_tx_profile_in_session_tx_default_otherwise() -> None:
    tx = bay_order(2, 123_456.78, "42", 1000.0, RULES)
    assert (tx.purpose, tx.profile_id, tx.stack_level, tx.limit_w) == (
        Purpose.TX,
        202,
        1,
        123_456.8,
    )
    assert (tx.transaction_id, tx.valid_to) == ("42", 1060.0)
    idle = bay_order(2, 10.0, None, 1000.0, RULES)
    assert (idle.purpose, idle.profile_id, idle.connector) == (Purpose.TX_DEFAULT, 102, 2)
    cabinet, standing = standing_orders(400.0, 100.0, 1000.0)
    assert (cabinet.purpose, cabinet.connector, cabinet.limit_w, cabinet.valid_to) == (
        Purpose.CABINET_MAX,
        0,
        400_000.0,
        None,
    )
    assert (standing.stack_level, standing.limit_w) == (0, 100_000.0)
    assert standing.valid_to is not None


def test_secrets_file_must_be_private_and_well_formed(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text('CP1 = "0123456789abcdef"\n')
    path.chmod(0o640)
    with pytest.raises(SecretsError, match="chmod 600"):
        load_secrets(path)
    path.chmod(0o600)
    assert dict(load_secrets(path)) == {"CP1": "0123456789abcdef"}
    path.write_text('CP1 = "short-secret"\n')
    with pytest.raises(SecretsError, match="16-40 characters") as refused:
        load_secrets(path)
    assert "short-secret" not in str(refused.value)  # never the password
