"""`edge bookings list|show|add|cancel` against a live daemon with the uplink disabled."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.store import audit_rows
from tests.test_bay_cli import ask, running


def site_time(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%MZ")


async def until_assigned(tmp_path: Path, bid: str) -> dict[str, object]:
    for _ in range(600):  # bounded (30 s): one owner tick, however loaded the machine
        code, out, _ = await ask(tmp_path, "bookings", "show", bid, "--json")
        assert code == 0
        shown: dict[str, object] = json.loads(out)
        if shown["history"]:
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"{bid}: never assigned")


async def test_add_list_show_cancel_with_the_uplink_disabled(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    async with running(tmp_path, unseen=True) as daemon:
        assert daemon.uplink is None
        code, out, err = await ask(
            tmp_path, "bookings", "add", "local-1", "--start", site_time(timedelta(minutes=10)),
            "--end", site_time(timedelta(minutes=70)), "--connector", "CCS", "--side", "right",
            "--plot", "main", "--plate", "1-abc-123",
        )  # fmt: skip
        assert code == 0, err
        assert "booking local-1: created" in out
        shown = await until_assigned(tmp_path, "local-1")
        assert shown["booking"]["bay"] == "B02"  # type: ignore[index]  # right side, least reach
        code, out, _ = await ask(tmp_path, "bookings", "list")
        assert code == 0
        assert "local-1" in out
        assert "B02" in out
        code, out, _ = await ask(tmp_path, "bookings", "cancel", "local-1", "--json")
        assert code == 0
        assert json.loads(out)["booking"]["status"] == "CANCELED"
        code, out, _ = await ask(tmp_path, "bookings", "--json")
        assert [b["status"] for b in json.loads(out)["bookings"]] == ["CANCELED"]
        code, _, err = await ask(tmp_path, "bookings", "show", "nope")
        assert code == 2
        assert "no booking 'nope'" in err
        code, _, err = await ask(
            tmp_path, "bookings", "add", "bad", "--start", "tomorrow", "--end", "later",
            "--connector", "CCS", "--side", "left", "--plate", "X1",
        )  # fmt: skip
        assert code == 2
        assert "start: 'tomorrow' is not an ISO 8601 time" in err
        entries = await audit_rows.read(daemon.availability.store)
        assert [(e.kind, e.by) for e in entries if e.kind.startswith("booking")] == [
            ("booking-add", me),  # from the socket's peer credentials
            ("booking-cancel", me),
        ]
        assert (await audit_rows.verify(daemon.availability.store)).ok
