"""The OCPP hooks onto billing and authorization: meter values as the package hands them
over (snake_case, 1.6 and 2.0.1) become samples with their signed values kept as sent."""

from __future__ import annotations

from typing import Any

from edge.billing.model import SignedValue
from edge.chargers.port import BayStatus
from edge.clock import SimClock
from edge.control_cycle import ControlCycle, NullSink
from edge.ocpp.billing_link import samples
from edge.power_control import PowerController
from edge.sdnotify import Notifier
from edge.sessions import BayState
from edge.site_billing import cycle_statuses
from edge.siteconf import load_site
from tests.test_power_control import DEMO, Plant, _no_safe_state

V16: list[dict[str, Any]] = [
    {
        "timestamp": "2026-11-30T10:00:00Z",
        "sampled_value": [
            {"value": "12.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh",
             "context": "Transaction.Begin"},
            {"value": "OCMF|{...}|{sig}", "format": "SignedData",
             "measurand": "Energy.Active.Import.Register"},
            {"value": "80", "measurand": "Power.Active.Import", "unit": "kW"},
        ],
    }
]  # fmt: skip
V201: list[dict[str, Any]] = [
    {
        "timestamp": "2026-11-30T10:01:00+00:00",
        "sampled_value": [
            {"value": 13, "measurand": "Energy.Active.Import.Register",
             "unit_of_measure": {"unit": "Wh", "multiplier": 3},
             "signed_meter_value": {"signed_meter_data": "b64==", "signing_method": "ECDSA",
                                    "encoding_method": "OCMF", "public_key": "pk"}},
            {"value": 55, "measurand": "SoC", "unit_of_measure": {"unit": "Percent"}},
        ],
    }
]  # fmt: skip


def test_v16_meter_values_keep_the_signed_string_and_scale_units() -> None:
    (sample,) = samples(V16, received_at=0.0)
    assert sample.at == 1_796_032_800.0  # 2026-11-30T10:00:00Z
    assert sample.energy_wh == 12_500.0
    assert sample.power_w == 80_000.0
    assert sample.signed == SignedValue("OCMF|{...}|{sig}")
    assert sample.context == "start"


def test_v201_meter_values_keep_the_signed_object() -> None:
    (sample,) = samples(V201, received_at=0.0)
    assert sample.energy_wh == 13_000.0
    assert sample.soc_pct == 55.0
    assert sample.signed == SignedValue("b64==", "", "ECDSA", "OCMF", "pk")
    assert sample.context == "periodic"


def test_a_bad_timestamp_takes_the_receive_time() -> None:
    (sample,) = samples([{"timestamp": "yesterday", "sampled_value": []}], received_at=42.0)
    assert sample.at == 42.0
    assert sample.energy_wh is None
    assert sample.signed is None


class CountingPort:
    """The site port, counting how often its bays' statuses are read."""

    def __init__(self, port: Any) -> None:
        self.port, self.reads = port, 0

    async def apply(self, setpoints: Any) -> Any:
        return await self.port.apply(setpoints)

    def states(self, snap: Any) -> Any:
        self.reads += 1
        return self.port.states(snap)


async def test_billing_reads_the_statuses_the_cycle_read_not_the_port_again() -> None:
    config = load_site(DEMO)
    clock = SimClock()
    plant = Plant(config, clock)
    port = CountingPort(plant.port)
    power = PowerController(config, port)
    cycle = ControlCycle(
        config, plant.image, clock, Notifier(""), NullSink(), lambda r: "", _no_safe_state, power
    )
    billed: list[tuple[BayStatus, ...]] = []
    cycle.observers.append(lambda r: billed.append(cycle_statuses(r, power, port)))
    plant.arrive("B01")
    for n in range(1, 4):
        plant.measure()
        await cycle.step()
        clock.advance(config.control.period_s)
        assert port.reads == n  # once a cycle: the power step's
    assert billed[-1] == power.statuses
    assert {s.bay for s in billed[-1]} == {"B01", "B02", "B03", "B04"}
    assert next(s for s in billed[-1] if s.bay == "B01").state is BayState.CHARGING
