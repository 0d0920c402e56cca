"""Log lines cannot be forged, and set-log-level knows the daemon's areas and nothing else."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from edge.logs import AREAS, KeyValueFormatter, LogSettingError, known_areas, set_area_level

EDGE = Path(__file__).resolve().parents[1] / "edge"


def line(msg: str, *args: object, name: str = "edge.x") -> str:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args, None)
    return KeyValueFormatter(journal=True).format(record)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("x\nlevel=error area=edge.runtime forged", "x\\nlevel=error"),
        ("x\rlevel=error", "x\\rlevel=error"),
        ("bell\x07 esc\x1b[2J", "bell\\x07 esc\\x1b[2J"),
        ("nul\x00 del\x7f c1\x85", "nul\\x00 del\\x7f c1\\x85"),
        ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
    ],
)
def test_control_characters_from_any_source_are_escaped(value: str, shown: str) -> None:
    for text in (line("area=%s", value), line(value), line("ok", name=value)):
        assert shown in text
        assert text.splitlines() == [text]
        assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", text)


def test_plain_lines_are_untouched() -> None:
    assert line("device_lost device=%s unit=%d", "grid-meter", 5) == (
        "level=info area=edge.x device_lost device=grid-meter unit=5"
    )


def test_unknown_areas_are_refused_and_create_no_logger() -> None:
    before = set(logging.Logger.manager.loggerDict)
    for area in ("edge.bogus", "x" * 60_000, "edge\nlevel=error", "edge.runtime.x"):
        with pytest.raises(LogSettingError, match="is not one of the daemon's areas"):
            set_area_level(area, "debug")
    assert set(logging.Logger.manager.loggerDict) == before


@pytest.mark.parametrize(
    ("area", "level", "message"),
    [
        (["x"], "debug", "log area must be a string, got list"),
        ("edge", 5, "log level must be a string, got int"),
        ("edge", None, "log level missing is not one of debug, info, warning, error, critical"),
        ("edge", "loud", "log level 'loud' is not one of debug, info"),
    ],
)
def test_wrong_types_and_levels_are_named(area: object, level: object, message: str) -> None:
    with pytest.raises(LogSettingError, match=re.escape(message)):
        set_area_level(area, level)


def test_known_areas_can_be_set_and_root_is_the_default() -> None:
    root = logging.getLogger()
    saved = root.level, logging.getLogger("edge.uplink").level
    try:
        assert set_area_level(None, "WARNING") == ("root", "warning")
        assert root.level == logging.WARNING
        assert set_area_level("edge.uplink", "debug") == ("edge.uplink", "debug")
        assert logging.getLogger("edge.uplink").level == logging.DEBUG
    finally:
        root.setLevel(saved[0])
        logging.getLogger("edge.uplink").setLevel(saved[1])


def test_every_package_that_logs_is_an_area() -> None:
    """A new package that logs must be added to AREAS, so technicians can set its level."""
    for path in EDGE.rglob("*.py"):
        if "getLogger(" not in path.read_text():
            continue
        parts = path.relative_to(EDGE.parent).with_suffix("").parts
        assert ".".join(parts[:2]) in AREAS or parts[:2] == ("edge", "logs"), path
    # Module areas are known from the files, loaded or not (imports are lazy per site).
    assert {"edge.runtime", "edge.drivers.modbus_link", "pymodbus"} <= set(known_areas())
