"""CLI exit codes and messages: 0 ok, 1 failure, 2 usage, 3 daemon not reachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli.main import main
from tests.conftest import DEMO


def test_no_command_and_unknown_command_are_usage_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["status", "--bogus"]) == 2
    assert "usage: edge" in capsys.readouterr().err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "config" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["status", "devices", "top"])
def test_daemon_not_running_says_how_to_start_it(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--socket",
            str(tmp_path / "none.sock"),
            command,
            *(["--duration", "0.5"] if command == "top" else []),
        ]
    )
    assert code == 3
    err = capsys.readouterr().err
    assert "daemon not reachable" in err
    if command != "top":
        assert "edge run --config" in err


def test_config_check_ok_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "check", str(DEMO)]) == 0
    assert "ok (site demo-hub, 4 bays" in capsys.readouterr().out
    assert main(["config", "check", str(DEMO), "--json"]) == 0
    assert '"ok": true' in capsys.readouterr().out


def test_config_check_lists_all_errors_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        DEMO.read_text().replace('"CCS"', '"MSC"').replace('charger = "ch02"', 'charger = "chX"')
    )
    assert main(["config", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("is not one of CCS, MCS") == 4
    assert err.count("unknown charger 'chX'") == 2
    assert "6 error(s)" in err


def test_run_with_bad_config_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[site]\nid='x'\n")
    sock = tmp_path / "edge.sock"
    assert main(["run", "--config", str(bad), "--socket", str(sock)]) == 1
    err = capsys.readouterr().err
    assert "site.name: missing (required)" in err
    assert "nothing started" in err
    assert not sock.exists()


def test_version_without_daemon(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--socket", str(tmp_path / "x.sock"), "version"]) == 0
    assert capsys.readouterr().out.startswith("edge 0.")
