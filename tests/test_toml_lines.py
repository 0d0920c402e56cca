from __future__ import annotations

from edge.siteconf.toml_lines import index_lines, line_of

TEXT = """[site]
id = "x"

[[bays]]
id = "B1"

[[bays]]
id = "B2"
connector = "MSC"

[[devices]]
id = "d"
[devices.sim]
model = "grid"
"""


def test_paths_map_to_lines() -> None:
    lines = index_lines(TEXT)
    assert lines[("site", "id")] == 2
    assert lines[("bays", 0)] == 4
    assert lines[("bays", 1, "connector")] == 9
    assert lines[("devices", 0, "sim", "model")] == 14


def test_unknown_path_falls_back_to_nearest_table() -> None:
    lines = index_lines(TEXT)
    assert line_of(lines, ("bays", 1, "max_power_kw")) == 7
    assert line_of(lines, ("nothing",)) is None
