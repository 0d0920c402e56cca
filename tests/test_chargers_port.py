"""The charger port over real peers: a pymodbus server on 127.0.0.1 built from the same
profiles (Alpitronic, the reference DC cabinet) and python-can's virtual bus (the CAN
cabinet). Setpoints land in each connector's registers and are read back; a failing write
is reported, never raised, and succeeds when retried; status codes map onto BayState."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping

import pytest

from edge.chargers.bay_states import WORDS, bay_state
from edge.chargers.device_charger import BayConnector, DeviceCharger
from edge.chargers.port import Outcome
from edge.drivers.can_bus import CanBus, Frame
from edge.drivers.can_device import CanDevice
from edge.drivers.can_link import CanLink
from edge.drivers.can_profile import CanProfile
from edge.drivers.catalog import shipped_catalog
from edge.drivers.modbus_device import ModbusDevice
from edge.drivers.modbus_profile import Profile, Table
from edge.readings import Grade, Quality, Reading, Snapshot
from edge.sessions import BayState
from edge.sim.can_peer import CabinetCanPeer
from edge.sim.modbus_server import SimModbusServer
from edge.sim.models import CabinetModel
from edge.sim.sim_unit import Fault, SimUnit, StaticModel
from tests.peers import CLOCK, CapturingImage, running, tcp_link

# Two trucks on an Alpitronic: connector 1 charging, connector 2 paused by the charger.
HYC_VALUES = {
    "status": 3.0,
    "power_w": 180_112.0,
    "session_energy_wh": 34_560.0,
    "ev_soc_pct": 65.58,
    "ev_max_power_w": 350_000.0,
    "connector_2_status": 5.0,
    "connector_2_power_w": 0.0,
    "connector_2_session_energy_wh": 1_230.0,
    "connector_2_ev_soc_pct": 12.5,
    "connector_2_ev_max_power_w": 250_000.0,
}
BAYS = [BayConnector("B1", 1), BayConnector("B2", 2)]


def modbus_profile(name: str) -> Profile:
    found = shipped_catalog()[name]
    assert isinstance(found, Profile)
    return found


class Session:
    def __init__(self, profile: str, model: object, fault: Fault | None = None) -> None:
        self.unit = SimUnit(1, modbus_profile(profile), model, fault or Fault())  # type: ignore[arg-type]
        self.server = SimModbusServer([self.unit], CLOCK)
        self.image = CapturingImage()

    async def __aenter__(self) -> DeviceCharger:
        link = tcp_link(await self.server.start(), 1.0)
        device = ModbusDevice("hyc", 1, self.unit.profile, link, self.image, CLOCK, startup={})
        self.device = device
        self._running = running(link.run)
        await self._running.__aenter__()
        return DeviceCharger("ch01", device, BAYS)

    async def __aexit__(self, *exc: object) -> None:
        await self._running.__aexit__(None, None, None)
        await self.server.stop()

    async def poll(self) -> Snapshot:
        for block in self.device.blocks:
            await self.device.poll_block(block)
        return self.image.freeze(CLOCK.monotonic(), CLOCK.wall())

    def words(self, address: int) -> tuple[int, int]:
        image = self.unit.image[Table.HOLDING]
        return image[address], image[address + 1]


async def test_alpitronic_setpoints_land_in_each_connectors_registers() -> None:
    session = Session("alpitronic-hyc", StaticModel(HYC_VALUES))
    async with session as charger:
        result = await charger.apply({"B2": 2_000.0, "B1": 138_000.0})
    assert [(w.bay, w.outcome) for w in result.writes] == [
        ("B2", Outcome.CONFIRMED),  # read back from the same register
        ("B1", Outcome.CONFIRMED),
    ]
    # HR 100n, U32 high word first (evcc alpitronic_test.go: 138000 W = {0x0002, 0x1B10}).
    assert session.words(100) == (0x0002, 0x1B10)
    assert session.words(200) == (0x0000, 0x07D0)
    assert session.unit.writes == [
        ("connector_2_power_setpoint_w", 2_000.0),
        ("power_setpoint_w", 138_000.0),
    ]


async def test_alpitronic_states_per_connector() -> None:
    session = Session("alpitronic-hyc", StaticModel(HYC_VALUES))
    async with session as charger:
        await charger.apply({"B1": 200_000.0, "B2": 1_000.0})
        states = {s.bay: s for s in charger.states(await session.poll())}
    one, two = states["B1"], states["B2"]
    assert (one.state, one.grade, one.raw) == (BayState.CHARGING, Grade.FRESH, "charging")
    assert (one.power_w, one.setpoint_w, one.energy_delivered_wh) == (
        180_112.0,
        200_000.0,
        34_560.0,
    )
    # The map has no applied-limit register: a read-back register is not what is applied.
    assert one.limit_w is None
    assert (one.soc_pct, one.ev_max_power_w) == (pytest.approx(65.58), 350_000.0)
    assert (two.state, two.raw, two.power_w, two.setpoint_w) == (
        BayState.SUSPENDED_EVSE,
        "suspended-evse",
        0.0,
        1_000.0,
    )
    assert (two.soc_pct, two.ev_max_power_w) == (12.5, 250_000.0)


async def test_a_failing_write_is_reported_and_succeeds_when_retried() -> None:
    fault = Fault(exception=4)  # the charger refuses: slave device failure
    session = Session("alpitronic-hyc", StaticModel(HYC_VALUES), fault)
    async with session as charger:
        failed = await charger.apply({"B1": 100_000.0, "B2": 5_000.0})
        fault.exception = None
        retried = await charger.apply({"B1": 100_000.0})
    assert [w.outcome for w in failed.writes] == [Outcome.FAILED, Outcome.FAILED]
    assert failed.of("B1").reason.startswith("device hyc: write power_setpoint_w=100000:")
    assert "exception 4" in failed.of("B1").reason
    assert "connector_2_power_setpoint_w" in failed.of("B2").reason
    assert retried.of("B1").outcome is Outcome.CONFIRMED
    assert session.words(100) == (0x0001, 0x86A0)


async def test_a_setpoint_the_charger_does_not_take_fails_its_read_back() -> None:
    session = Session("edgehub-dc-cabinet", CabinetModel(400_000.0, lambda wall: 350_000.0))
    async with session as charger:
        result = await charger.apply({"B1": 900_000.0, "B2": 90_000.0})
    assert result.of("B1").outcome is Outcome.FAILED  # clamped to its rating
    assert "not confirmed, power_setpoint_w reads back 400000" in result.of("B1").reason
    assert result.of("B2").outcome is Outcome.CONFIRMED
    assert session.words(30) == (0x0001, 0x5F90)  # connector 2's setpoint: HR 30-31


async def test_nonsense_setpoints_and_unknown_bays_are_refused_before_the_wire() -> None:
    session = Session("alpitronic-hyc", StaticModel(HYC_VALUES))
    async with session as charger:
        result = await charger.apply({"B1": float("nan"), "B2": -1.0, "B9": 1.0})
    assert [w.outcome for w in result.writes] == [Outcome.FAILED] * 3
    assert "no bay 'B9'" in result.of("B9").reason
    assert session.unit.writes == []


def _snapshot(device: str, points: Mapping[str, Reading]) -> Snapshot:
    from types import MappingProxyType

    return Snapshot(0.0, 0.0, MappingProxyType({device: MappingProxyType(dict(points))}))


def test_a_lost_status_is_unavailable_and_a_stale_one_keeps_its_state() -> None:
    profile = modbus_profile("alpitronic-hyc")

    class Device:
        id = "hyc"

        def __init__(self) -> None:
            self.profile = profile

        async def write_point(self, name: str, value: float) -> None:
            raise AssertionError("not written")

    charger = DeviceCharger("ch01", Device(), BAYS)
    stale = Reading(3.0, "", Quality.STALE, 0.0)
    lost = Reading(3.0, "", Quality.COMM_LOST, 0.0)
    power = Reading(1000.0, "W", Quality.OK, 0.0)
    got = charger.states(
        _snapshot(
            "hyc",
            {
                "status": stale,
                "power_w": power,
                "connector_2_status": lost,
                "connector_2_power_w": power,
            },
        )
    )
    assert [(s.bay, s.state, s.grade) for s in got] == [
        ("B1", BayState.CHARGING, Grade.STALE),
        ("B2", BayState.UNAVAILABLE, Grade.LOST),
    ]
    assert got[0].power_w == 1000.0  # fresh itself, but the bay as a whole is stale


CHARGER_PROFILES = sorted(pid for pid, p in shipped_catalog().items() if p.kind == "charger")


@pytest.mark.parametrize("profile_id", CHARGER_PROFILES)
def test_every_status_word_of_every_charger_profile_maps_to_a_bay_state(profile_id: str) -> None:
    profile = shipped_catalog()[profile_id]
    labels = {w for p in profile.points if p.name.endswith("status") for w in p.labels.values()}  # type: ignore[union-attr]
    assert labels, "a charger profile needs a labelled status point"
    assert labels <= set(WORDS), labels - set(WORDS)


@pytest.mark.parametrize(
    ("profile_id", "code", "state"),
    [
        ("alpitronic-hyc", 0, BayState.AVAILABLE),
        ("alpitronic-hyc", 2, BayState.OCCUPIED),
        ("alpitronic-hyc", 3, BayState.CHARGING),
        ("alpitronic-hyc", 4, BayState.SUSPENDED_EV),
        ("alpitronic-hyc", 5, BayState.SUSPENDED_EVSE),
        ("alpitronic-hyc", 6, BayState.FINISHING),
        ("alpitronic-hyc", 7, BayState.AVAILABLE),
        ("alpitronic-hyc", 9, BayState.UNAVAILABLE),
        ("alpitronic-hyc", 10, BayState.FAULTED),
        ("alpitronic-hyc", 12, BayState.UNAVAILABLE),  # not in the manual: no power
        ("edgehub-dc-cabinet", 0, BayState.UNAVAILABLE),
        ("edgehub-dc-cabinet", 1, BayState.AVAILABLE),
        ("edgehub-dc-cabinet", 3, BayState.CHARGING),
        ("edgehub-dc-cabinet", 4, BayState.FAULTED),
        ("edgehub-dc-cabinet", 5, BayState.CHARGING),
        ("edgehub-dc-cabinet", 6, BayState.OCCUPIED),
        ("edgehub-dc-cabinet", 8, BayState.SUSPENDED_EVSE),
        ("edgehub-can-cabinet", 9, BayState.FINISHING),
    ],
)
def test_status_codes_map_as_documented(profile_id: str, code: int, state: BayState) -> None:
    point = shipped_catalog()[profile_id].point("status")
    assert bay_state(point.labels, float(code))[0] is state


# ---- CAN: the reference cabinet's two connectors over python-can's virtual bus ---------


class Connector2Peer:
    """Connector 2 of the simulated cabinet (CabinetCanPeer serves connector 1): applies
    PowerLimit2 from every command and reports it in Connector2Status."""

    def __init__(self, bus: CanBus, profile: CanProfile) -> None:
        self.bus, self.dbc = bus, profile.dbc
        self.limit_kw = 0.0

    async def run(self) -> None:
        await self.bus.open()
        command, status = self.dbc.messages["CabinetCmd"], self.dbc.messages["Connector2Status"]
        try:
            while True:
                try:
                    async with asyncio.timeout(0.1):
                        frame: Frame = await self.bus.recv()
                    if frame.arbitration_id == command.frame_id:
                        self.limit_kw = self.dbc.decode(frame.arbitration_id, frame.data)[
                            "PowerLimit2"
                        ]
                except TimeoutError:
                    pass
                data = self.dbc.encode(
                    "Connector2Status",
                    {
                        "ActualPower2": min(self.limit_kw, 80.0),
                        "LimitActive2": self.limit_kw,
                        "State2": 2,
                    },
                )
                await self.bus.send(status.frame_id, data, status.extended)
        finally:
            await self.bus.close()


async def test_can_cabinet_setpoints_per_connector_confirmed_by_its_status() -> None:
    channel = f"test-{uuid.uuid4().hex}"
    profile = shipped_catalog()["edgehub-can-cabinet"]
    assert isinstance(profile, CanProfile)
    model = CabinetModel(400_000.0, lambda wall: 350_000.0)
    peer = CabinetCanPeer(CanBus("virtual", channel), profile.dbc, model, CLOCK)
    second = Connector2Peer(CanBus("virtual", channel), profile)
    link = CanLink("can0", CanBus("virtual", channel), CLOCK)
    image = CapturingImage()
    device = CanDevice("cab", profile, link, image, CLOCK)
    charger = DeviceCharger("ch01", device, BAYS)
    async with running(peer.run, second.run, link.run, device.run):
        result = await charger.apply({"B1": 250_000.0, "B2": 120_000.0})
        await image.wait_until(lambda: bool(image.ok("cab")), timeout_s=5.0)
        states = {s.bay: s for s in charger.states(image.freeze(CLOCK.monotonic(), CLOCK.wall()))}
    assert [(w.bay, w.outcome) for w in result.writes] == [
        ("B1", Outcome.CONFIRMED),
        ("B2", Outcome.CONFIRMED),
    ]
    assert peer.commands[-1] == pytest.approx(250.0)
    assert second.limit_kw == pytest.approx(120.0)
    assert states["B2"].limit_w == pytest.approx(120_000.0)
    assert states["B2"].state is BayState.CHARGING
    assert states["B1"].limit_w == pytest.approx(250_000.0)
