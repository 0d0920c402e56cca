"""`edge gate ...` against the demo daemon (gate lanes on its simulated WAGO coupler), the
uplink disabled: status, an audited open, hold-open and release, and refused requests."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pwd
from pathlib import Path

import pytest

from tests.test_bay_cli import ask, running


async def lanes(tmp_path: Path) -> dict[str, dict[str, object]]:
    for _ in range(100):  # bounded: the lanes boot once the coupler was read
        code, out, _ = await ask(tmp_path, "gate", "--json")
        assert code == 0
        found = {lane["lane"]: lane for lane in json.loads(out)["lanes"]}
        if all(lane["state"] != "booting" for lane in found.values()):
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"lanes did not boot: {found}")


async def test_status_open_hold_release(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge.gates")
    me = pwd.getpwuid(os.getuid()).pw_name
    async with running(tmp_path):
        found = await lanes(tmp_path)
        assert {k: v["state"] for k, v in found.items()} == {
            "entry-main": "idle",
            "exit-main": "idle",
        }
        code, out, _ = await ask(tmp_path, "gate", "open", "entry-main", "--reason", "no card")
        assert code == 0, out
        assert out.startswith("entry-main: opening")
        code, out, _ = await ask(
            tmp_path, "gate", "hold-open", "exit-main", "--reason", "drill", "--json"
        )
        assert json.loads(out)["state"] == "held-open"
        code, out, _ = await ask(tmp_path, "gate", "release", "exit-main", "--json")
        assert json.loads(out)["state"] != "held-open"
        code, out, _ = await ask(tmp_path, "gate", "status")
        assert "entry-main" in out
        assert "LANE" in out
        code, _, err = await ask(tmp_path, "gate", "open", "nope", "--reason", "x")
        assert code == 2
        assert "unknown lane 'nope'" in err
        assert (await ask(tmp_path, "gate", "open", "entry-main", "--reason", " "))[0] == 2
        assert (await ask(tmp_path, "gate", "open", "entry-main"))[0] == 2  # --reason required
    audit = [r.getMessage() for r in caplog.records if r.getMessage().startswith("audit ")]
    assert (
        f"audit kind=gate-open gate=entry-main reason='no card' who={me}(uid={os.getuid()})"
        in audit
    )
    assert any("kind=gate-hold-open gate=exit-main reason=drill" in a for a in audit)
    assert any("kind=gate-command gate=entry-main cmd=open" in a for a in audit)
