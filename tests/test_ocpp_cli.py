"""`edge chargers` and `edge charger reset|unlock`: parsing and the page."""

from __future__ import annotations

from edge.cli.charger_commands import chargers_page
from edge.cli.main import build_parser


def test_commands_parse() -> None:
    parser = build_parser()
    args = parser.parse_args(["charger", "reset", "ch01", "0", "--reason", "hung", "--hard"])
    assert (args.method, args.charger, args.connector, args.hard) == (
        "charger-reset",
        "ch01",
        0,
        True,
    )
    args = parser.parse_args(["charger", "unlock", "ch01", "2", "--reason", "cable stuck"])
    assert (args.method, args.connector, args.reason) == ("charger-unlock", 2, "cable stuck")
    assert parser.parse_args(["chargers", "--json"]).json is True


def test_page_lists_each_connector() -> None:
    row = {
        "charger": "ch01", "identity": "HYC-01", "ocpp_version": "1.6", "connected": True,
        "vendor": "Alpitronic", "model": "HYC400", "firmware": "2.1", "last_message_age_s": 1.25,
        "standing_profile": True,
        "connectors": [
            {"connector": 1, "bay": "B01", "status": "Charging", "limit_w": 150e3, "profile": "tx"},
            {"connector": 2, "bay": "B02", "status": None, "limit_w": None, "profile": None},
        ],
    }  # fmt: skip
    page = chargers_page({"chargers": [row]})
    lines = page.splitlines()  # header, rule, one line per connector
    assert "HYC-01" in lines[2]
    assert "connected" in lines[2]
    assert "150.0 kW (tx)" in lines[2]
    assert "1.2s" in lines[2]
    assert lines[3].split()[:2] == ["2", "B02"]  # the second connector under the first
    assert chargers_page({"chargers": []}) == "no OCPP charge points configured"
