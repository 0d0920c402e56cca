"""Malformed profile files are rejected with the file name and the key that is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.drivers.catalog import load_any_profile, load_catalog
from edge.drivers.modbus_profile import Profile, Table
from edge.drivers.profile_common import ProfileError
from edge.drivers.read_plan import plan_reads

HEAD = 'id = "t"\nkind = "meter"\n'
POINT = '[points.p]\ntable = "holding"\naddress = 0\n'
CONN = '[connectors]\ncount = 2\nstride = 10\npoints = ["p"]\n'


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("id = [", "bad.toml", "cannot read profile"),
        ('kind = "meter"\n' + POINT, "id", "missing"),
        (HEAD.replace("meter", "toaster") + POINT, "kind", "'toaster' is not one of"),
        (HEAD + 'protocol = "bacnet"\n' + POINT, "protocol", "'bacnet'"),
        (HEAD, "points", "missing"),
        (HEAD + "colour = 1\n" + POINT, "colour", "unknown key"),
        (HEAD + POINT + "colour = 1\n", "points.p.colour", "unknown key"),
        (HEAD + "[points.p]\naddress = 0\n", "points.p.table", "missing"),
        (HEAD + '[points.p]\ntable = "holding"\n', "points.p.address", "missing"),
        (HEAD + POINT.replace('"holding"', '"ram"'), "points.p.table", "'ram' is not one of"),
        (HEAD + POINT + 'type = "float"\n', "points.p.type", "'float' is not one of"),
        (HEAD + POINT + "address = 7\n", "line 6", "cannot read profile"),  # duplicate key
        (HEAD + POINT.replace("0\n", "70000\n"), "points.p.address", "0..65535"),
        (HEAD + POINT.replace("0\n", '"0x10"\n'), "points.p.address", "wrong type str"),
        (HEAD + POINT + 'word_order = "middle"\n', "points.p.word_order", "'middle'"),
        (HEAD + POINT + "scale = 0\n", "points.p.scale", "must not be 0"),
        (HEAD + POINT + "scale = true\n", "points.p.scale", "wrong type bool"),
        (HEAD + POINT + "period_s = 0\n", "points.p.period_s", "must be > 0"),
        (HEAD + POINT + "min = 10\nmax = 1\n", "points.p.min", "above max"),
        (HEAD + POINT + 'access = "x"\n', "points.p.access", "'x' is not one of"),
        (
            HEAD + '[points.p]\ntable = "input"\naddress = 0\naccess = "rw"\n',
            "points.p.access",
            "cannot be written",
        ),
        (HEAD + POINT + 'type = "bool"\n', "points.p.type", "does not fit a holding"),
        (HEAD + POINT + 'labels = { "on" = "x" }\n', "points.p.labels.on", "integers"),
        (
            HEAD + POINT + '[points.q]\ntable = "holding"\naddress = 0\ntype = "uint32"\n',
            "points.",
            "overlaps",
        ),
        (
            HEAD + POINT + 'access = "rw"\nconfirm = "nope"\n',
            "points.p.confirm",
            "not a readable point",
        ),
        (HEAD + POINT + 'confirm = "p"\n', "points.p.confirm", "only written points"),
        (HEAD + POINT + "[startup]\np = 1\n", "startup.p", "not a writable point"),
        (
            HEAD + POINT + 'access = "rw"\n[startup]\np = "on"\n',
            "startup.p",
            "must be a number",
        ),
        (HEAD + "max_registers_per_read = 200\n" + POINT, "max_registers_per_read", "1..125"),
        (HEAD + "max_gap = -1\n" + POINT, "max_gap", "must be 0.."),
        (HEAD + "[defaults]\nsize = 2\n" + POINT, "defaults.size", "unknown key"),
        (
            HEAD + '[points.p]\ntable = "coil"\naddress = 0\naccess = "w"\n',
            "points",
            "at least one point must be readable",
        ),
        (HEAD + CONN.replace("count = 2", "count = 0") + POINT, "connectors.count", "1..64"),
        (HEAD + CONN.replace("stride = 10\n", "") + POINT, "connectors.stride", "missing"),
        (HEAD + CONN.replace('["p"]', '["q"]') + POINT, "connectors.points", "'q' is not a"),
        (HEAD + CONN + "size = 2\n" + POINT, "connectors.size", "unknown key"),
        (HEAD + CONN.replace("= 10", "= 70000") + POINT, "connectors.stride", "past 65535"),
        (HEAD + CONN.replace("= 10", "= 0") + POINT, "points.connector_2_p.address", "overlaps"),
        (
            HEAD + CONN + POINT + '[points.connector_3_p]\ntable = "holding"\naddress = 40\n',
            "points.connector_3_p",
            "connector 3 does not exist",
        ),
        (
            HEAD + POINT + '[points.connector_2_q]\ntable = "holding"\naddress = 40\n',
            "points.connector_2_q",
            "connector 2 does not exist",
        ),
    ],
)
def test_malformed_profile_names_file_and_key(
    tmp_path: Path, text: str, key: str, why: str | None
) -> None:
    with pytest.raises(ProfileError) as info:
        load_any_profile(write(tmp_path, text))
    message = str(info.value)
    assert message.startswith("bad.toml: ")
    assert key in message
    if why is not None:
        assert why in message


def test_catalog_reports_bad_files_and_duplicates_but_keeps_the_good(tmp_path: Path) -> None:
    write(tmp_path, HEAD + POINT, "a.toml")
    write(tmp_path, HEAD + POINT, "b.toml")  # same id "t"
    write(tmp_path, HEAD + POINT + "colour = 1\n", "c.toml")
    profiles, errors = load_catalog([tmp_path])
    assert list(profiles) == ["t"]
    assert any(e.startswith("b.toml: id: duplicate profile id 't'") for e in errors)
    assert any(e.startswith("c.toml: points.p.colour: unknown key") for e in errors)


def test_defaults_apply_and_points_override_them(tmp_path: Path) -> None:
    text = (
        HEAD
        + 'max_gap = 0\n[defaults]\ntable = "input"\ntype = "float32"\nperiod_s = 2.0\n'
        + "[points.a]\naddress = 0\n[points.b]\naddress = 4\nperiod_s = 2.0\n"
        + '[points.c]\naddress = 2\ntype = "int16"\n'
    )
    profile = load_any_profile(write(tmp_path, text))
    assert isinstance(profile, Profile)
    assert profile.point("a").table is Table.INPUT
    assert profile.point("c").type == "int16"
    # max_gap = 0: a gap of one register (3) already splits the block.
    assert [(b.address, b.count) for b in plan_reads(profile)] == [(0, 3), (4, 2)]


def test_written_points_confirm_themselves_and_write_only_points_are_not_polled(
    tmp_path: Path,
) -> None:
    text = (
        HEAD
        + '[points.sp]\ntable = "holding"\naddress = 0\naccess = "rw"\n'
        + '[points.cmd]\ntable = "coil"\naddress = 0\naccess = "w"\nconfirm = "state"\n'
        + '[points.state]\ntable = "coil"\naddress = 512\n'
        + "[startup]\ncmd = 0\nsp = 5\n"
    )
    profile = load_any_profile(write(tmp_path, text))
    assert isinstance(profile, Profile)
    assert profile.point("sp").confirm == "sp"
    assert profile.point("cmd").confirm == "state"
    assert profile.startup == (("cmd", 0.0), ("sp", 5.0))
    polled = {p.name for b in plan_reads(profile) for p in b.points}
    assert polled == {"sp", "state"}


def test_connector_copies_sit_a_stride_apart_and_confirm_their_own_read_back(
    tmp_path: Path,
) -> None:
    text = (
        HEAD.replace("meter", "charger")
        + CONN.replace('["p"]', '["p", "set"]').replace("count = 2", "count = 3")
        + POINT
        + '[points.set]\ntable = "holding"\naddress = 2\ntype = "uint32"\naccess = "rw"\n'
        + 'ref = "HR 2-3"\n'
    )
    profile = load_any_profile(write(tmp_path, text))
    assert isinstance(profile, Profile)
    assert profile.connectors == 3
    placed = {p.name: (p.address, p.confirm) for p in profile.points}
    assert placed["connector_2_set"] == (12, "connector_2_set")
    assert placed["connector_3_set"] == (22, "connector_3_set")
    assert placed["connector_3_p"] == (20, None)
    assert profile.point("connector_2_set").ref == "connector 2: HR 2-3 + 10"


def test_a_connector_point_with_no_plain_point_to_copy_is_refused(tmp_path: Path) -> None:
    text = HEAD + CONN + POINT + '[points.connector_2_q]\ntable = "holding"\naddress = 40\n'
    with pytest.raises(ProfileError, match="connector_2_q: no connector-1 point 'q' to copy"):
        load_any_profile(write(tmp_path, text))
