"""NotifyEVChargingNeeds read (edge/ocpp/ev_needs.py): the truck's energy, departure and
battery size, the values refused, and what a later message keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from edge.ocpp.ev_needs import EvNeeds, read_needs

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC).timestamp()
DC = {"ev_max_current": 500, "ev_max_voltage": 800}


def test_dc_energy_and_departure() -> None:
    needs = {
        "requested_energy_transfer": "DC",
        "departure_time": "2026-11-30T12:30:00Z",
        "dc_charging_parameters": {**DC, "energy_amount": 300_000, "ev_max_power": 750_000},
    }
    assert read_needs(needs, NOW) == (EvNeeds(300_000.0, NOW + 9000), ())


def test_the_battery_size_is_kept_for_the_plans_taper() -> None:
    needs = {
        "requested_energy_transfer": "DC",
        "dc_charging_parameters": {**DC, "state_of_charge": 20, "ev_energy_capacity": 540_000},
    }
    assert read_needs(needs, NOW) == (EvNeeds(None, None, 540_000.0), ())
    later = {"requested_energy_transfer": "DC", "dc_charging_parameters": DC}
    assert read_needs(later, NOW, EvNeeds(None, None, 540_000.0))[0].battery_wh == 540_000.0


def test_ac_energy_and_an_offset_departure() -> None:
    needs = {
        "requested_energy_transfer": "AC_three_phase",
        "departure_time": "2026-11-30T11:30:00+01:00",
        "ac_charging_parameters": {
            "energy_amount": 40_000,
            "ev_min_current": 6,
            "ev_max_current": 32,
            "ev_max_voltage": 400,
        },
    }
    assert read_needs(needs, NOW) == (EvNeeds(40_000.0, NOW + 1800), ())


def test_nothing_said_is_nothing_known() -> None:
    needs = {"requested_energy_transfer": "DC", "dc_charging_parameters": DC}
    assert read_needs(needs, NOW) == (EvNeeds(None, None), ())


@pytest.mark.parametrize(
    ("needs", "field", "why"),
    [
        (
            {"dc_charging_parameters": {**DC, "energy_amount": -5}},
            "dcChargingParameters.energyAmount",
            "negative",
        ),
        (
            {"ac_charging_parameters": {"energy_amount": "lots"}},
            "acChargingParameters.energyAmount",
            "not a number",
        ),
        ({"departure_time": "2026-11-30T09:59:59Z"}, "departureTime", "in the past"),
        ({"departure_time": "half past twelve"}, "departureTime", "not an RFC 3339 date-time"),
        ({"departure_time": "2026-11-30T12:30:00"}, "departureTime", "no UTC offset"),
        (
            {"dc_charging_parameters": {**DC, "ev_energy_capacity": 0}},
            "dcChargingParameters.evEnergyCapacity",
            "not positive",
        ),
        (
            {"dc_charging_parameters": {**DC, "ev_energy_capacity": "big"}},
            "dcChargingParameters.evEnergyCapacity",
            "not a number",
        ),
    ],
)
def test_bad_values_are_refused_and_named(needs: dict[str, Any], field: str, why: str) -> None:
    got, refused = read_needs({"requested_energy_transfer": "DC", **needs}, NOW)
    assert got == EvNeeds(None, None)
    assert [(r.field, r.why) for r in refused] == [(field, why)]


def test_a_later_message_replaces_what_it_gives_and_keeps_the_rest() -> None:
    earlier = EvNeeds(300_000.0, NOW + 9000)
    more = {"requested_energy_transfer": "DC", "dc_charging_parameters": {**DC, "energy_amount": 0}}
    assert read_needs(more, NOW, earlier) == (EvNeeds(0.0, NOW + 9000), ())
    bad = {"requested_energy_transfer": "DC", "departure_time": "2020-01-01T00:00:00Z"}
    got, refused = read_needs(bad, NOW, earlier)
    assert got == earlier
    assert len(refused) == 1
