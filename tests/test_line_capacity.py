"""RS-485 line arithmetic, and the load-time warning when a poll plan exceeds a line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.drivers.line_capacity import (
    Framing,
    Transaction,
    frame_bytes,
    reads_per_second,
    transaction_s,
    utilisation,
)
from edge.drivers.modbus_profile import Table
from edge.siteconf import load_site_with_warnings

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo.toml"


def test_frame_sizes_follow_the_modbus_serial_spec() -> None:
    assert frame_bytes(Transaction(Table.HOLDING, 2)) == (8, 9)  # 5 + 2*2
    assert frame_bytes(Transaction(Table.INPUT, 125)) == (8, 255)
    assert frame_bytes(Transaction(Table.DISCRETE, 9)) == (8, 7)  # 9 bits -> 2 data bytes
    assert frame_bytes(Transaction(Table.HOLDING, 1, write=True)) == (8, 8)  # FC6 echo
    assert frame_bytes(Transaction(Table.HOLDING, 2, write=True)) == (13, 8)  # FC16


def test_character_framing() -> None:
    assert Framing(9600, "N", 1).bits_per_char == 10
    assert Framing(9600, "E", 1).bits_per_char == 11
    assert Framing(9600, "N", 2).bits_per_char == 11


@pytest.mark.parametrize(
    ("baud", "registers", "ceiling"),
    [
        # docs/sources.md, "RS-485 ceilings": (8 + 5 + 2N) chars + 2 x 3.5 chars.
        (9600, 2, 40.0),  # 24 chars x 10 bit / 9600 = 25 ms
        (9600, 10, 24.0),  # 40 chars -> 41.7 ms
        (115200, 2, 201.0),  # 17 chars x 86.8 us + 2 x 1.75 ms = 4.98 ms
        (115200, 125, 38.0),
    ],
)
def test_ceilings_match_the_measured_anchors(baud: int, registers: int, ceiling: float) -> None:
    assert reads_per_second(Framing(baud, "N", 1), registers) == pytest.approx(ceiling, rel=0.01)


def test_even_parity_is_ten_percent_slower_than_none() -> None:
    n = reads_per_second(Framing(9600, "N", 1), 10)
    e = reads_per_second(Framing(9600, "E", 1), 10)
    assert e == pytest.approx(n * 10 / 11)


@given(
    count=st.integers(1, 125),
    period=st.floats(0.05, 60),
    baud=st.sampled_from([1200, 9600, 19200, 115200]),
)
def test_utilisation_adds_up_and_scales_with_the_period(
    count: int, period: float, baud: int
) -> None:
    framing = Framing(baud)
    tx = Transaction(Table.HOLDING, count)
    one = utilisation(framing, [(tx, period)], turnaround_s=0.0)
    assert one == pytest.approx(transaction_s(framing, tx, 0.0) / period)
    assert utilisation(framing, [(tx, period)] * 3, 0.0) == pytest.approx(3 * one)
    assert utilisation(framing, [(tx, 2 * period)], 0.0) == pytest.approx(one / 2)


def site_with_rtu_line(tmp_path: Path, meters: int, poll_s: float, baud: int) -> Path:
    text = DEMO.read_text(encoding="utf-8")
    text += (
        f'\n[[links]]\nid = "rs485-1"\ntype = "modbus-rtu"\nport = "/dev/ttyUSB0"\nbaud = {baud}\n'
    )
    for n in range(meters):
        text += (
            f'\n[[devices]]\nid = "sub-{n}"\nkind = "meter"\nprofile = "eastron-sdm630"\n'
            f'link = "rs485-1"\nunit = {n + 10}\npoll_s = {poll_s}\n'
        )
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_plan_the_line_cannot_carry_is_a_warning_naming_the_link(tmp_path: Path) -> None:
    _, issues = load_site_with_warnings(site_with_rtu_line(tmp_path, 8, 0.5, 9600))
    warnings = [str(i) for i in issues if "poll plan" in i.message]
    assert len(warnings) == 1
    assert "links[1].baud" in warnings[0]
    assert "9600 baud 8E1" in warnings[0]


def test_a_plan_within_the_line_loads_without_that_warning(tmp_path: Path) -> None:
    _, issues = load_site_with_warnings(site_with_rtu_line(tmp_path, 2, 2.0, 19200))
    assert not [i for i in issues if "poll plan" in i.message]
