"""Every shipped profile decodes raw register words laid out as its datasheet specifies.

The words, their addresses and the expected values are literals worked out from each
datasheet's encoding (IEEE 754 float32/float64 high word first, INT32 low word first for
Carlo Gavazzi, scaled integers), never produced by our own encoder nor read from the profile
under test, so a wrong address, type, word order or scale in a profile fails here. Every point
of every shipped profile must have its golden case: a point whose registers have no golden
words is an error, never a 0. Sources per device: docs/sources.md.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pytest

from edge.drivers.catalog import shipped_catalog
from edge.drivers.codec import DecodeError, decode_words, encode_value, plausible
from edge.drivers.modbus_profile import Profile, Table
from edge.drivers.read_plan import plan_reads

H, IN, C, D = Table.HOLDING, Table.INPUT, Table.COIL, Table.DISCRETE


@dataclass(frozen=True)
class Golden:
    words: Mapping[tuple[Table, int], tuple[int, ...]]  # (table, first address) -> raw words
    expect: Mapping[str, float]  # polled point -> engineering value
    # written point -> (table, first address, engineering value, raw words the device takes)
    writes: Mapping[str, tuple[Table, int, float, tuple[int, ...]]] = field(default_factory=dict)
    labels: Mapping[str, Mapping[int, str]] = field(default_factory=dict)  # point -> code table


# Alpitronic load management manual v2.5 connector state (evcc hycRegState, OpenEMS
# AvailableState).
ALPITRONIC_STATES = {
    0: "available",
    1: "preparing-tag-id-ready",
    2: "preparing-ev-ready",
    3: "charging",
    4: "suspended-ev",
    5: "suspended-evse",
    6: "finishing",
    7: "reserved",
    8: "unavailable",
    9: "unavailable-fw-update",
    10: "faulted",
    11: "unavailable-connection-object",
}
# docs/drivers.md, "Reference cabinet map", connector status.
CABINET_STATES = {
    0: "off",
    1: "ready",
    2: "charging",
    3: "derated",
    4: "fault",
    5: "fallback",
    6: "occupied",
    7: "suspended-ev",
    8: "suspended-evse",
    9: "finishing",
}

GOLDEN: dict[str, Golden] = {
    "eastron-sdm630": Golden(
        words={
            (IN, 0x0000): (0x4366, 0x8000),  # 230.5 V
            (IN, 0x0002): (0x4367, 0x0000),  # 231.0 V
            (IN, 0x0004): (0x4365, 0x8000),  # 229.5 V
            (IN, 0x0006): (0x4251, 0x0000),  # 52.25 A
            (IN, 0x0008): (0x4251, 0x0000),
            (IN, 0x000A): (0xC060, 0x0000),  # -3.5 A
            (IN, 0x000C): (0x463B, 0x8000),  # 12000 W
            (IN, 0x000E): (0x463B, 0x8000),
            (IN, 0x0010): (0xC449, 0x6000),  # -805.5 W
            (IN, 0x0034): (0x4709, 0xB200),  # 35250 W
            (IN, 0x0038): (0x47C1, 0x5C00),  # 99000 VA
            (IN, 0x003C): (0xC449, 0x6000),  # -805.5 var
            (IN, 0x003E): (0x3F78, 0x0000),  # PF 0.96875
            (IN, 0x0046): (0x4248, 0x0000),  # 50 Hz
            (IN, 0x0048): (0x47F1, 0x2040),  # 123456.5 kWh
            (IN, 0x004A): (0x45F6, 0x9200),  # 7890.25 kWh
            (IN, 0x0156): (0x4587, 0x0C00),  # 4321.5 kWh
            (IN, 0x015A): (0x449C, 0x4000),  # 1250 kWh
            (IN, 0x015C): (0x451C, 0x4000),  # 2500 kWh
            (IN, 0x015E): (0x462F, 0xC800),  # 11250 kWh
        },
        expect={
            "voltage_l1_v": 230.5,
            "voltage_l2_v": 231.0,
            "voltage_l3_v": 229.5,
            "current_l1_a": 52.25,
            "current_l2_a": 52.25,
            "current_l3_a": -3.5,
            "power_l1_w": 12000.0,
            "power_l2_w": 12000.0,
            "power_l3_w": -805.5,
            "power_w": 35250.0,
            "apparent_power_va": 99000.0,
            "reactive_power_var": -805.5,
            "power_factor": 0.96875,
            "frequency_hz": 50.0,
            "energy_import_wh": 123_456_500.0,
            "energy_export_wh": 7_890_250.0,
            "energy_total_wh": 4_321_500.0,
            "energy_import_l1_wh": 1_250_000.0,
            "energy_import_l2_wh": 2_500_000.0,
            "energy_import_l3_wh": 11_250_000.0,
        },
    ),
    "janitza-umg604": Golden(
        words={
            (H, 19000): (0x4366, 0x8000),
            (H, 19002): (0x4367, 0x0000),
            (H, 19004): (0x4365, 0x8000),
            (H, 19012): (0x4251, 0x0000),
            (H, 19014): (0x4251, 0x0000),
            (H, 19016): (0xC060, 0x0000),
            (H, 19020): (0x463B, 0x8000),
            (H, 19022): (0x463B, 0x8000),
            (H, 19024): (0xC449, 0x6000),
            (H, 19026): (0x4709, 0xB200),
            (H, 19042): (0xC449, 0x6000),
            (H, 19050): (0x4248, 0x0000),
            (H, 19068): (0x47F1, 0x2040),  # 123456.5 Wh (Janitza counts Wh)
            (H, 19076): (0x45F6, 0x9200),  # 7890.25 Wh
        },
        expect={
            "voltage_l1_v": 230.5,
            "voltage_l2_v": 231.0,
            "voltage_l3_v": 229.5,
            "current_l1_a": 52.25,
            "current_l2_a": 52.25,
            "current_l3_a": -3.5,
            "power_l1_w": 12000.0,
            "power_l2_w": 12000.0,
            "power_l3_w": -805.5,
            "power_w": 35250.0,
            "reactive_power_var": -805.5,
            "frequency_hz": 50.0,
            "energy_import_wh": 123_456.5,
            "energy_export_wh": 7890.25,
        },
    ),
    "siemens-pac3200": Golden(
        words={
            (H, 1): (0x4366, 0x8000),
            (H, 3): (0x4367, 0x0000),
            (H, 5): (0x4365, 0x8000),
            (H, 13): (0x4251, 0x0000),
            (H, 15): (0x4251, 0x0000),
            (H, 17): (0x3F00, 0x0000),  # 0.5 A
            (H, 25): (0x463B, 0x8000),
            (H, 27): (0x463B, 0x8000),
            (H, 29): (0xC449, 0x6000),
            (H, 55): (0x4248, 0x0000),
            (H, 65): (0x4709, 0xB200),
            (H, 67): (0xC449, 0x6000),
            (H, 69): (0x3F78, 0x0000),
            (H, 801): (0x4197, 0x8C29, 0xE000, 0x0000),  # 98765432.0 Wh, float64
            (H, 809): (0x4093, 0x4800, 0x0000, 0x0000),  # 1234.0 Wh
        },
        expect={
            "voltage_l1_v": 230.5,
            "voltage_l2_v": 231.0,
            "voltage_l3_v": 229.5,
            "current_l1_a": 52.25,
            "current_l2_a": 52.25,
            "current_l3_a": 0.5,
            "power_l1_w": 12000.0,
            "power_l2_w": 12000.0,
            "power_l3_w": -805.5,
            "frequency_hz": 50.0,
            "power_w": 35250.0,
            "reactive_power_var": -805.5,
            "power_factor": 0.96875,
            "energy_import_wh": 98_765_432.0,
            "energy_export_wh": 1234.0,
        },
    ),
    "carlo-gavazzi-em340": Golden(
        words={  # INT32 low word first
            (IN, 0x00): (0x0901, 0x0000),  # 2305 -> 230.5 V
            (IN, 0x02): (0x0901, 0x0000),
            (IN, 0x04): (0x0901, 0x0000),
            (IN, 0x0C): (0x11D7, 0x0000),  # 4567 -> 4.567 A
            (IN, 0x0E): (0x11D7, 0x0000),
            (IN, 0x10): (0xF6FF, 0xFFFF),  # -2305 -> -2.305 A
            (IN, 0x12): (0xE240, 0x0001),  # 123456 -> 12345.6 W
            (IN, 0x14): (0xE240, 0x0001),
            (IN, 0x16): (0xCFC7, 0xFFFF),  # -12345 -> -1234.5 W
            (IN, 0x28): (0x60F4, 0x0005),  # 352500 -> 35250.0 W
            (IN, 0x31): (0x03C8,),  # INT16 968 -> PF 0.968
            (IN, 0x33): (0x01F4,),  # INT16 500 -> 50.0 Hz
            (IN, 0x34): (0x1206, 0x000F),  # 987654 -> 98765.4 kWh
            (IN, 0x4E): (0x11D7, 0x0000),  # 4567 -> 456.7 kWh
        },
        expect={
            "voltage_l1_v": 230.5,
            "voltage_l2_v": 230.5,
            "voltage_l3_v": 230.5,
            "current_l1_a": 4.567,
            "current_l2_a": 4.567,
            "current_l3_a": -2.305,
            "power_l1_w": 12345.6,
            "power_l2_w": 12345.6,
            "power_l3_w": -1234.5,
            "power_w": 35250.0,
            "power_factor": 0.968,
            "frequency_hz": 50.0,
            "energy_import_wh": 98_765_400.0,
            "energy_export_wh": 456_700.0,
        },
    ),
    "solis-wind": Golden(
        words={
            (IN, 3004): (0x0001, 0x54D2),  # 87250 W
            (IN, 3006): (0x0001, 0x6378),  # 91000 W DC
            (IN, 3008): (0x0012, 0xD687),  # 1234567 kWh
            (IN, 3014): (0x0181,),  # 385 -> 38.5 kWh
            (IN, 3021): (0x1979,),  # 6521 -> 652.1 V
            (IN, 3042): (0x138A,),  # 5002 -> 50.02 Hz
            (IN, 3043): (0x0003,),  # generating
            (H, 3051): (0x1770,),  # 3052 power limitation: 6000 <-> 60 % (10000 <-> 100 %)
            (H, 3069): (0x00AA,),  # 3070 power limitation switch: 0xAA on
        },
        expect={
            "power_w": 87250.0,
            "dc_power_w": 91000.0,
            "energy_total_wh": 1_234_567_000.0,
            "energy_today_wh": 38_500.0,
            "dc_voltage_v": 652.1,
            "frequency_hz": 50.02,
            "status": 3.0,
            "power_limit_pct": 60.0,
            "power_limit_enabled": 170.0,
        },
        # Protocol section 5.6, holding registers numbered from 3000 (PDU = number - 1).
        writes={
            "power_limit_pct": (H, 3051, 45.5, (0x11C6,)),  # 4550 <-> 45.5 %
            "power_limit_enabled": (H, 3069, 0x55, (0x0055,)),  # off: power to 100 %
        },
        # The protocol's status table is written in hex (0x1004 grid overvoltage, ...).
        labels={
            "status": {
                0x0000: "waiting",
                0x0001: "open-loop",
                0x0002: "soft-start",
                0x0003: "generating",
                0x1004: "grid-overvoltage",
                0x1010: "grid-undervoltage",
                0x1012: "grid-overfrequency",
                0x1013: "grid-underfrequency",
                0x1015: "no-grid",
            },
            "power_limit_enabled": {0xAA: "on", 0x55: "off"},
        },
    ),
    "wago-750-352-dio": Golden(
        words={
            (D, 0): (1,),
            (D, 1): (0,),
            (D, 2): (1,),
            (D, 3): (0,),
            (D, 4): (0,),
            (D, 5): (1,),
            (D, 6): (0,),
            (D, 7): (1,),
            (C, 0x200): (1,),
            (C, 0x201): (0,),
            (H, 0x1000): (0x0032,),  # 50 x 100 ms
            (H, 0x1001): (0xFFFF,),
            (H, 0x1006): (0x0001,),  # running
        },
        expect={
            "input_1": 1.0,
            "input_2": 0.0,
            "input_3": 1.0,
            "input_4": 0.0,
            "input_5": 0.0,
            "input_6": 1.0,
            "input_7": 0.0,
            "input_8": 1.0,
            "output_1_state": 1.0,
            "output_2_state": 0.0,
            "watchdog_time_s": 5.0,
            "watchdog_fc_mask": 65535.0,
            "watchdog_status": 1.0,
        },
        writes={
            "output_1": (C, 0x0000, 1.0, (1,)),
            "output_2": (C, 0x0001, 0.0, (0,)),
            "watchdog_time_s": (H, 0x1000, 5.0, (0x0032,)),  # 50 x 100 ms
            "watchdog_fc_mask": (H, 0x1001, 65535.0, (0xFFFF,)),
        },
        labels={"watchdog_status": {0: "inactive", 1: "running", 2: "expired"}},
    ),
    "alpitronic-hyc": Golden(
        # Connector n's block is at 100*n in both tables (load management manual v2.5; evcc
        # charger/alpitronic.go `connector*100 + reg`; OpenEMS Connector SLOT_0(100)).
        words={
            (IN, 100): (0x0003,),  # x00 state: charging
            (IN, 101): (0x0001, 0x38B2),  # x01-x02 U32 80050 -> 800.50 V
            (IN, 103): (0x57E4,),  # x03 U16 22500 -> 225.00 A
            (IN, 104): (0x0002, 0xBF90),  # x04-x05 U32 180112 W
            (IN, 107): (0x0D80,),  # x07 U16 3456 -> 34.56 kWh
            (IN, 108): (0x199E,),  # x08 U16 6558 -> 65.58 %
            (IN, 110): (0x0005, 0x5730),  # x10-x11 U32 350000 W
            (H, 100): (0x0003, 0x0D40),  # HR x00-x01 U32 200000 W limit, high word first
            # Connector 2 at 200 (evcc 2*100 + reg; OpenEMS Connector SLOT_1(200)).
            (IN, 200): (0x0005,),  # state: suspended-evse
            (IN, 201): (0x0001, 0x37EA),  # U32 79850 -> 798.50 V
            (IN, 203): (0x448E,),  # U16 17550 -> 175.50 A
            (IN, 204): (0x0001, 0x7318),  # U32 95000 W
            (IN, 207): (0x04D2,),  # U16 1234 -> 12.34 kWh
            (IN, 208): (0x1F4C,),  # U16 8012 -> 80.12 %
            (IN, 210): (0x0003, 0xD090),  # U32 250000 W
            (H, 200): (0x0001, 0xD4C0),  # U32 120000 W limit
        },
        expect={
            "status": 3.0,
            "voltage_v": 800.5,
            "current_a": 225.0,
            "power_w": 180_112.0,
            "session_energy_wh": 34_560.0,
            "ev_soc_pct": 65.58,
            "ev_max_power_w": 350_000.0,
            "power_setpoint_w": 200_000.0,
            "connector_2_status": 5.0,
            "connector_2_voltage_v": 798.5,
            "connector_2_current_a": 175.5,
            "connector_2_power_w": 95_000.0,
            "connector_2_session_energy_wh": 12_340.0,
            "connector_2_ev_soc_pct": 80.12,
            "connector_2_ev_max_power_w": 250_000.0,
            "connector_2_power_setpoint_w": 120_000.0,
        },
        # evcc's alpitronic_test.go: 138000 W written with FC16 at HR 100 as {0x0002, 0x1B10};
        # connector 2 takes the same words at HR 200 (connector*100 + 0).
        writes={
            "power_setpoint_w": (H, 100, 138_000.0, (0x0002, 0x1B10)),
            "connector_2_power_setpoint_w": (H, 200, 138_000.0, (0x0002, 0x1B10)),
        },
        labels=dict.fromkeys(("status", "connector_2_status"), ALPITRONIC_STATES),
    ),
    "edgehub-dc-cabinet": Golden(
        # docs/drivers.md, "Reference cabinet map": connector n's block every 20 registers.
        words={
            (H, 0): (0x0002,),  # charging
            (H, 2): (0x0002, 0x4EC2),  # 151234 W
            (H, 4): (0x0006, 0x1A80),  # 400000 W
            (H, 10): (0x0002, 0x49F0),  # 150000 W
            (H, 12): (0x0000, 0xC350),  # 50000 W
            (H, 14): (0x001E,),  # 30 s
            (H, 20): (0x0008,),  # connector 2: suspended-evse
            (H, 22): (0x0001, 0x24F8),  # connector 2: 75000 W
            (H, 30): (0x0001, 0xD4C0),  # connector 2 setpoint: 120000 W
        },
        expect={
            "status": 2.0,
            "power_w": 151_234.0,
            "max_power_w": 400_000.0,
            "power_setpoint_w": 150_000.0,
            "fallback_power_w": 50_000.0,
            "watchdog_s": 30.0,
            "connector_2_status": 8.0,
            "connector_2_power_w": 75_000.0,
            "connector_2_power_setpoint_w": 120_000.0,
        },
        writes={
            "power_setpoint_w": (H, 10, 150_000.0, (0x0002, 0x49F0)),
            "connector_2_power_setpoint_w": (H, 30, 150_000.0, (0x0002, 0x49F0)),
            "fallback_power_w": (H, 12, 50_000.0, (0x0000, 0xC350)),
            "watchdog_s": (H, 14, 30.0, (0x001E,)),
        },
        labels=dict.fromkeys(("status", "connector_2_status"), CABINET_STATES),
    ),
}


def modbus_profiles() -> list[Profile]:
    return [p for p in shipped_catalog().values() if isinstance(p, Profile)]


class MissingWords(AssertionError):
    pass


def decode_image(profile: Profile, golden: Golden) -> dict[str, float]:
    """Read the image the way the driver does: planned blocks, sliced per point, decoded.

    A register a point needs that has no golden word is an error; registers the plan reads
    through between points (gaps) are filled with a marker no point may decode.
    """
    image: dict[tuple[Table, int], int] = {}
    for (table, start), words in golden.words.items():
        for i, word in enumerate(words):
            image[(table, start + i)] = word
    values = {}
    for block in plan_reads(profile):
        words = [image.get((block.table, block.address + i), -1) for i in range(block.count)]
        for point in block.points:
            if -1 in block.slice_for(point, words):
                raise MissingWords(
                    f"{profile.id}: {point.name} reads {point.table.value} {point.address}"
                    f"..{point.address + point.words - 1}, which has no golden words"
                )
        gap_free = [0 if w == -1 else w for w in words]  # gaps: read through, never decoded
        for point, value in block.decoder.decode(gap_free):  # the driver's path
            assert value == decode_words(block.slice_for(point, words), point) or (
                math.isnan(value)
            ), point.name
            values[point.name] = value
    return values


def used_words(profile: Profile) -> set[tuple[Table, int]]:
    return {(p.table, p.address + i) for p in profile.points if p.polled for i in range(p.words)}


def test_every_shipped_modbus_profile_has_a_golden_case() -> None:
    assert {p.id for p in modbus_profiles()} == set(GOLDEN)


@pytest.mark.parametrize("profile_id", sorted(GOLDEN))
def test_profile_decodes_its_datasheet_words(profile_id: str) -> None:
    profile = shipped_catalog()[profile_id]
    assert isinstance(profile, Profile)
    golden = GOLDEN[profile_id]
    polled = {p.name for p in profile.points if p.polled}
    assert set(golden.expect) == polled, "every polled point needs a golden expectation"
    values = decode_image(profile, golden)
    for name, expected in golden.expect.items():
        assert values[name] == pytest.approx(expected, rel=1e-6), name
        assert plausible(values[name], profile.point(name), None) is None, name
    stray = {
        (table, start + i)
        for (table, start), words in golden.words.items()
        for i in range(len(words))
    } - used_words(profile)
    assert not stray, f"golden words no point reads (wrong address in the profile?): {stray}"


@pytest.mark.parametrize("profile_id", sorted(GOLDEN))
def test_profile_writes_where_and_what_the_datasheet_says(profile_id: str) -> None:
    profile = shipped_catalog()[profile_id]
    assert isinstance(profile, Profile)
    golden = GOLDEN[profile_id]
    assert set(golden.writes) == {p.name for p in profile.points if p.writable}
    for name, (table, address, value, words) in golden.writes.items():
        point = profile.point(name)
        assert (point.table, point.address) == (table, address), name
        assert tuple(encode_value(value, point)) == words, name


@pytest.mark.parametrize("profile_id", sorted(GOLDEN))
def test_status_codes_match_the_datasheet_table(profile_id: str) -> None:
    profile = shipped_catalog()[profile_id]
    assert isinstance(profile, Profile)
    labelled = {p.name: dict(p.labels) for p in profile.points if p.labels}
    assert labelled == {name: dict(table) for name, table in GOLDEN[profile_id].labels.items()}


def test_the_block_decoder_refuses_a_short_block() -> None:
    profile = shipped_catalog()["eastron-sdm630"]
    assert isinstance(profile, Profile)
    block = plan_reads(profile)[0]
    with pytest.raises(DecodeError, match="expected"):
        block.decoder.decode([0] * (block.count - 1))


def test_a_point_without_golden_words_is_an_error() -> None:
    """The guard above: dropping one point's words must fail, not decode zeros."""
    profile = shipped_catalog()["alpitronic-hyc"]
    assert isinstance(profile, Profile)
    golden = GOLDEN["alpitronic-hyc"]
    words = {k: v for k, v in golden.words.items() if k != (IN, 108)}
    with pytest.raises(MissingWords, match=r"ev_soc_pct reads input 108\.\.108"):
        decode_image(profile, Golden(words=words, expect=golden.expect))


@pytest.mark.parametrize("profile_id", sorted(GOLDEN))
def test_every_point_names_its_datasheet_register(profile_id: str) -> None:
    profile = shipped_catalog()[profile_id]
    assert isinstance(profile, Profile)
    assert profile.datasheet
    assert all(p.ref for p in profile.points)


def test_word_order_matters_for_carlo_gavazzi() -> None:
    """The same words read high-word-first would be a wildly different power."""
    profile = shipped_catalog()["carlo-gavazzi-em340"]
    assert isinstance(profile, Profile)
    point = profile.point("power_w")
    assert decode_words([0x60F4, 0x0005], point) == pytest.approx(35250.0)
    assert decode_words([0x0005, 0x60F4], point) != pytest.approx(35250.0)
