"""SunSpec: decoding with pysunspec2's model definitions, discovery over a real Modbus peer,
curtailment with its reversion timeout, and the profile's checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.drivers import sunspec_models
from edge.drivers.catalog import load_any_profile, shipped_catalog
from edge.drivers.device_base import DeviceBase, WriteFailed
from edge.drivers.profile_common import ProfileError
from edge.drivers.sunspec_device import SunSpecDevice
from edge.drivers.sunspec_profile import SunSpecProfile
from edge.readings import Quality
from edge.sim.modbus_server import SimModbusServer
from edge.sim.sim_unit import SimUnit, StaticModel
from edge.sim.sunspec_sim import IEEE1547, LEGACY, SunSpecSimUnit
from tests.peers import CLOCK, CapturingImage, running, tcp_link


def model_words(model_id: int, length: int, at: dict[int, int]) -> list[int]:
    words = [0] * (length + 2)
    words[0], words[1] = model_id, length
    for offset, word in at.items():
        words[offset] = word
    return words


# Literal registers as the SunSpec model tables lay them out (offsets from the ID register).
GOLDEN_103 = model_words(
    103,
    50,
    {
        10: 0x08FD,  # PhVphA 2301
        13: 0xFFFF,  # V_SF -1 -> 230.1 V
        14: 0x04D2,  # W 1234
        15: 0x0001,  # W_SF +1 -> 12340 W
        16: 0x1388,  # Hz 5000
        17: 0xFFFE,  # Hz_SF -2 -> 50.00 Hz
        24: 0x0001,  # WH (acc32) high word
        25: 0xE240,  # WH low word -> 123456
        38: 0x0004,  # St MPPT
    },
)
GOLDEN_701 = model_words(
    701,
    153,
    {
        4: 0x0002,  # InvSt
        10: 0x1F40,  # W 8000, W_SF (116) 0
        16: 0x08FD,  # LNV 2301, V_SF (114) -1
        114: 0xFFFF,
        17: 0x0000,  # Hz (uint32) 5000, Hz_SF (115) -2
        18: 0x1388,
        115: 0xFFFE,
        21: 0x0001,  # TotWhInj (uint64) 100000
        22: 0x86A0,
    },
)


def test_model_103_decodes_from_its_registers() -> None:
    values = sunspec_models.decode(103, GOLDEN_103)
    assert values["W"] == 12340.0
    assert values["PhVphA"] == pytest.approx(230.1)
    assert values["Hz"] == pytest.approx(50.0)
    assert values["WH"] == 123456.0
    assert values["St"] == 4.0


def test_model_701_decodes_from_its_registers() -> None:
    values = sunspec_models.decode(701, GOLDEN_701)
    assert values["W"] == 8000.0
    assert values["LNV"] == pytest.approx(230.1)
    assert values["Hz"] == pytest.approx(50.0)
    assert values["TotWhInj"] == 100000.0
    assert values["InvSt"] == 2.0


def test_not_implemented_sentinels_are_none_never_zero() -> None:
    words = list(GOLDEN_103)
    words[14] = 0x8000  # int16 "not implemented"
    assert sunspec_models.decode(103, words)["W"] is None


def test_encode_uses_the_scale_factor_in_the_model() -> None:
    words = list(GOLDEN_103)
    assert sunspec_models.encode(103, words, "W", 5000.0) == [500]  # W_SF +1


def shipped() -> SunSpecProfile:
    profile = shipped_catalog()["sunspec-inverter"]
    assert isinstance(profile, SunSpecProfile)
    return profile


@pytest.mark.parametrize("models", [LEGACY, IEEE1547], ids=["1-103-120-123", "1-701-702-704"])
async def test_discovery_polling_and_curtailment_with_reversion(models: tuple[int, ...]) -> None:
    sim = SunSpecSimUnit(1, lambda wall: 8000.0, 10_000.0, models)
    server = SimModbusServer([sim], CLOCK)
    link = tcp_link(await server.start(), 1.0)
    image = CapturingImage()
    device = SunSpecDevice("pv", 1, shipped(), link, image, CLOCK, poll_s=0.1)

    def power() -> float | None:
        reading = image.freeze(CLOCK.monotonic(), CLOCK.wall()).reading("pv", "power_w")
        return reading.value if reading is not None else None

    try:
        async with running(link.run, device.run):
            await image.wait_until(lambda: power() == 8000.0, timeout_s=10)
            assert {s.model_id for s in device.sources.values()} <= set(models)
            await device.curtail(40.0, revert_after_s=1.0)
            await image.wait_until(lambda: power() == 4000.0, timeout_s=10)
            # No refresh: the inverter's own reversion timer lifts the limit.
            await image.wait_until(lambda: power() == 8000.0, timeout_s=10)
    finally:
        await server.stop()
    written = {name for _, name, _ in sim.writes}
    timer = "WMaxLimPctRvrtTms" if 704 in models else "WMaxLimPct_RvrtTms"
    assert timer in written
    snapshot = image.freeze(CLOCK.monotonic(), CLOCK.wall())
    assert snapshot.reading("pv", "rated_power_w") is not None
    assert snapshot.value("pv", "rated_power_w") == 10_000.0


async def test_a_device_without_sunspec_is_comm_lost_with_the_reason() -> None:
    meter = shipped_catalog()["eastron-sdm630"]
    server = SimModbusServer([SimUnit(1, meter, StaticModel({}))], CLOCK)  # type: ignore[arg-type]
    link = tcp_link(await server.start(), 1.0)
    device = SunSpecDevice("pv", 1, shipped(), link, CapturingImage(), CLOCK)
    try:
        async with running(link.run):
            with pytest.raises(Exception, match="no 'SunS' marker"):
                await device.discover()
            with pytest.raises(WriteFailed, match="neither model 704 nor 123"):
                await device.curtail(50.0, 60.0)
    finally:
        await server.stop()


def test_unimplemented_points_read_as_invalid() -> None:
    device = DeviceBase("pv", "test", CapturingImage(), CLOCK)
    reading = device.judge("power_w", None, "W", shipped().point("power_w"), 0.0)
    assert reading.quality is Quality.INVALID


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ('"103W"', "is not MODEL.POINT"),
        ('"abc.W"', "is not a model number"),
        ('"9999.W"', "no SunSpec model 9999"),
        ('"103.Watts"', "has no point 'Watts'"),
    ],
)
def test_malformed_sunspec_profile_names_file_and_key(
    tmp_path: Path, source: str, why: str
) -> None:
    path = tmp_path / "inv.toml"
    path.write_text(
        f'id = "x"\nkind = "inverter"\nprotocol = "sunspec"\n[points.p]\nsources = [{source}]\n',
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as info:
        load_any_profile(path)
    assert str(info.value).startswith("inv.toml: points.p.sources: ")
    assert why in str(info.value)


@pytest.mark.parametrize(("model_id", "words"), [(103, GOLDEN_103), (701, GOLDEN_701)])
def test_profile_points_find_their_values_in_each_model_family(
    model_id: int, words: list[int]
) -> None:
    values = sunspec_models.decode(model_id, words)
    for name in ("power_w", "energy_wh", "frequency_hz", "voltage_v", "status"):
        source = next(s for s in shipped().point(name).sources if s.model_id == model_id)
        assert isinstance(values[source.point], float), name
