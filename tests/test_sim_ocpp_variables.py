"""The simulated charge point's configuration table: the answers the standards give to a
CSMS reading or changing keys (1.6) and variables (2.0.1). Plain data, no event loop."""

from __future__ import annotations

from edge.sim.ocpp_config import V16, V201, CpConfig
from edge.sim.ocpp_variables import HEARTBEAT, METER_SAMPLE, PING, Variables


def variables(version: str = V16) -> Variables:
    return Variables(CpConfig("cp", {1: "B1", 2: "B2"}, version=version, meter_every_s=10.0))


def test_change_configuration_answers_per_key_and_value() -> None:
    v = variables()
    assert v.change(METER_SAMPLE, "2") == "Accepted"
    assert v.seconds(METER_SAMPLE) == 2.0
    assert v.change(HEARTBEAT, "30") == "Accepted"
    assert v.change("NoSuchKey", "1") == "NotSupported"
    assert v.change("NumberOfConnectors", "4") == "Rejected"  # read-only
    assert v.change(METER_SAMPLE, "soon") == "Rejected"  # not an integer
    assert v.change(METER_SAMPLE, "-1") == "Rejected"
    assert v.change(HEARTBEAT, "0") == "Rejected"  # a heartbeat needs an interval
    assert v.change(PING, "5") == "RebootRequired"  # stored, used at the next connection
    assert (v.seconds(METER_SAMPLE), v.seconds(HEARTBEAT), v.seconds(PING)) == (2.0, 30.0, 5.0)


def test_get_configuration_lists_known_keys_and_names_the_unknown() -> None:
    v = variables()
    known, unknown = v.get(["NumberOfConnectors", "Nope", METER_SAMPLE])
    assert known == [
        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
        {"key": METER_SAMPLE, "readonly": False, "value": "10"},
    ]
    assert unknown == ["Nope"]
    everything, none = v.get(None)
    assert {k["key"] for k in everything} >= {HEARTBEAT, METER_SAMPLE, PING}
    assert none == []


def test_set_variables_answers_per_component_variable_and_attribute() -> None:
    v = variables(V201)
    assert v.set("SampledDataCtrlr", "TxUpdatedInterval", "3") == "Accepted"
    assert v.seconds(METER_SAMPLE) == 3.0
    assert v.set("OCPPCommCtrlr", "HeartbeatInterval", "45") == "Accepted"
    assert v.set("OCPPCommCtrlr", "WebSocketPingInterval", "0") == "RebootRequired"
    assert v.set("NoCtrlr", "HeartbeatInterval", "1") == "UnknownComponent"
    assert v.set("OCPPCommCtrlr", "Nope", "1") == "UnknownVariable"
    assert v.set("OCPPCommCtrlr", "HeartbeatInterval", "1", "Target") == (
        "NotSupportedAttributeType"
    )
    assert v.set("SmartChargingCtrlr", "RateUnit", "W") == "Rejected"  # read-only
    assert v.set("SampledDataCtrlr", "TxUpdatedInterval", "1.5") == "Rejected"
    assert v.set("", "", "1") == "UnknownComponent"  # an instance we do not have


def test_get_variables_reads_the_actual_value() -> None:
    v = variables(V201)
    assert v.read("SmartChargingCtrlr", "RateUnit") == ("Accepted", "A,W")
    assert v.read("SampledDataCtrlr", "TxUpdatedInterval") == ("Accepted", "10")
    assert v.read("SampledDataCtrlr", "Nope") == ("UnknownVariable", None)
    assert v.read("SampledDataCtrlr", "TxUpdatedInterval", "MaxSet") == (
        "NotSupportedAttributeType",
        None,
    )
