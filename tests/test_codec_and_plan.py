"""Register codec round-trips; read plans cover every point within Modbus limits."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.drivers.catalog import load_catalog
from edge.drivers.codec import DecodeError, decode_words, encode_value, plausible
from edge.drivers.modbus_profile import MAX_REGISTERS_PER_READ, Point, Profile, Table
from edge.drivers.read_plan import plan_reads

BASE = Point(
    "p", Table.HOLDING, 0, "float32", "big", 1.0, 0.0, "W", 1.0, True, None, None, False, ""
)


@given(value=st.floats(-1e6, 1e6, allow_nan=False), order=st.sampled_from(["big", "little"]))
def test_float32_round_trip(value: float, order: str) -> None:
    point = replace(BASE, word_order=order)
    assert math.isclose(
        decode_words(encode_value(value, point), point), value, rel_tol=1e-6, abs_tol=1e-3
    )


@given(value=st.integers(-(2**31), 2**31 - 1), scale=st.sampled_from([1.0, 0.1, 0.01]))
def test_int32_round_trip_with_scale(value: int, scale: float) -> None:
    point = replace(BASE, type="int32", scale=scale, word_order="little")
    words = encode_value(value * scale, point)
    assert decode_words(words, point) == pytest.approx(value * scale)


def test_known_words() -> None:
    # 0x4479C000 is 999.0 as IEEE 754 float32, high word first.
    assert decode_words([0x4479, 0xC000], BASE) == 999.0
    assert decode_words([0xC000, 0x4479], replace(BASE, word_order="little")) == 999.0
    assert decode_words([0xFFFF], replace(BASE, type="int16")) == -1.0
    with pytest.raises(DecodeError, match="expected 2 registers, got 1"):
        decode_words([1], BASE)
    with pytest.raises(DecodeError, match="does not fit"):
        encode_value(70000, replace(BASE, type="uint16"))


def test_plausibility() -> None:
    bounded = replace(BASE, min=0.0, max=10.0, counter=True)
    assert plausible(float("nan"), BASE, None) == "not a number"
    assert plausible(11.0, bounded, None) == "above physical range (11 > 10)"
    assert plausible(5.0, bounded, 6.0) == "counter went backwards (6 -> 5)"
    assert plausible(7.0, bounded, 6.0) is None


def test_every_shipped_profile_loads_and_plans_within_limits() -> None:
    catalog, errors = load_catalog()
    assert errors == []
    assert {"eastron-sdm630", "wago-750-352-dio"} <= set(catalog)
    for profile in catalog.values():
        if not isinstance(profile, Profile):
            continue  # SunSpec, CAN and GPIO profiles have their own plans and tests
        blocks = plan_reads(profile)
        covered = [p.name for b in blocks for p in b.points]
        # Every polled point is read exactly once; write-only points are never polled.
        assert sorted(covered) == sorted(p.name for p in profile.points if p.access != "w")
        for block in blocks:
            if block.table in (Table.HOLDING, Table.INPUT):
                assert block.count <= min(MAX_REGISTERS_PER_READ, profile.max_registers_per_read)
            for p in block.points:
                assert block.address <= p.address
                assert p.address + p.words <= block.address + block.count


def test_poll_override_keeps_the_ratio_between_periods() -> None:
    catalog, _ = load_catalog()
    periods = sorted({b.period_s for b in plan_reads(catalog["eastron-sdm630"], 0.5)})
    assert periods == [0.5, 2.5, 5.0]


def test_malformed_profiles_name_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "bad-type.toml").write_text(
        'id="x"\nkind="meter"\n[points.p]\ntable="input"\naddress=1\ntype="float33"\n'
    )
    (tmp_path / "bad-kind.toml").write_text(
        'id="y"\nkind="toaster"\n[points.p]\ntable="input"\naddress=1\n'
    )
    (tmp_path / "no-address.toml").write_text('id="z"\nkind="meter"\n[points.p]\ntable="input"\n')
    _, errors = load_catalog([tmp_path])
    assert errors == [
        "bad-kind.toml: kind: 'toaster' is not one of meter, inverter, charger, io",
        "bad-type.toml: points.p.type: 'float33' is not one of int16, uint16, int32, uint32, "
        "float32, int64, uint64, float64, bool",
        "no-address.toml: points.p.address: missing (required)",
    ]
