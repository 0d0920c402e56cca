"""Operator limits in the site store: they survive a restart, lapse by their `until` (an
injected clock, no waiting), and every set and clear is in the hash-chained audit log; and
through the daemon: `edge limit set`, a restart, the limit still in force."""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from edge.operator_limits import OperatorLimits
from edge.power.budget import LimitOverride
from edge.siteconf import load_site
from edge.store import LocalStore, audit_rows
from edge.store.audit_rows import AuditLog
from tests.conftest import DEMO
from tests.test_bay_cli import ask, running

NOW = 1_800_000_000.0


class Clock:
    """The wall time the owner and the audit log are told, stepped by the test."""

    def __init__(self, now: float) -> None:
        self.now = now


async def owner(path: Path, clock: Clock) -> tuple[OperatorLimits, LocalStore]:
    store = LocalStore(path)
    await store.open()
    log = AuditLog(store)

    async def record(kind: str, subject: str, by: str, detail: dict[str, Any]) -> None:
        await log.append(kind, subject, by, detail, clock.now)

    limits = OperatorLimits(load_site(DEMO), store, record)
    await limits.load(clock.now)
    return limits, store


async def test_a_limit_survives_a_restart_and_lapses_by_its_until(tmp_path: Path) -> None:
    db, clock = tmp_path / "site.db", Clock(NOW)
    limits, store = await owner(db, clock)
    await limits.set("feeder-north", 120, NOW + 3600, "transformer check", "alice", clock.now)
    await limits.set("grid", 500, NOW + 60, "dso call", "bob", clock.now)
    await store.close()

    clock.now = NOW + 30  # both still in force after a restart
    limits, store = await owner(db, clock)
    assert set(limits.overrides(clock.now)) == {
        LimitOverride("feeder-north", 120_000.0),
        LimitOverride("grid", 500_000.0),
    }
    assert limits.rows(clock.now)[0]["by"] == "alice"
    await store.close()

    clock.now = NOW + 61  # the grid's lapsed while the daemon was down: gone, row deleted
    limits, store = await owner(db, clock)
    assert limits.overrides(clock.now) == (LimitOverride("feeder-north", 120_000.0),)
    assert await store.read("SELECT node FROM operator_limits") == [("feeder-north",)]
    assert limits.overrides(NOW + 3600) == ()  # lapses in memory at its until too
    await store.close()


async def test_a_clear_is_kept_and_every_change_is_audited(tmp_path: Path) -> None:
    db, clock = tmp_path / "site.db", Clock(NOW)
    limits, store = await owner(db, clock)
    await limits.set("grid", 300, NOW + 600, "grid operator call", "alice", clock.now)
    clock.now += 5
    assert await limits.clear("grid", "cloud")
    assert not await limits.clear("grid", "bob")  # nothing to clear: audited all the same
    entries = await audit_rows.read(store)
    assert [(e.kind, e.subject, e.by) for e in entries] == [
        ("limit-set", "grid", "alice"),
        ("limit-clear", "grid", "cloud"),
        ("limit-clear", "grid", "bob"),
    ]
    assert entries[0].detail == {
        "kw": 300,
        "until": "2027-01-15T08:10:00Z",
        "reason": "grid operator call",
    }
    assert entries[1].detail == {"was": {"kw": 300.0, "until": "2027-01-15T08:10:00Z"}}
    assert (await audit_rows.verify(store)).ok
    await store.close()
    limits, store = await owner(db, clock)  # the clear survives the restart
    assert limits.overrides(clock.now) == ()
    await store.close()


async def test_a_failing_store_still_lowers_the_limit_and_says_so(tmp_path: Path) -> None:
    db, clock = tmp_path / "site.db", Clock(NOW)
    limits, store = await owner(db, clock)
    await store.close()  # every write now fails with StoreUnavailable
    await limits.set("grid", 200, NOW + 600, "dso", "alice", clock.now)
    assert limits.overrides(clock.now) == (LimitOverride("grid", 200_000.0),)
    assert any("not persisted" in w for w in limits.warnings)


async def test_edge_limit_set_survives_a_daemon_restart(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    until = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")  # site time
    async with running(tmp_path) as daemon:
        code, out, _ = await ask(
            tmp_path, "limit", "set", "grid", "--kw", "400", "--until", until, "--reason", "dso"
        )
        assert code == 0, out
        entries = await audit_rows.read(daemon.availability.store)  # the gates audit too
        assert [(e.subject, e.by) for e in entries if e.kind == "limit-set"] == [("grid", me)]
    async with running(tmp_path):
        code, out, _ = await ask(tmp_path, "power", "--json")
        assert code == 0
        (row,) = json.loads(out)["limits"]
        assert (row["node"], row["limit_w"], row["by"]) == ("grid", 400_000.0, me)
        code, out, _ = await ask(tmp_path, "limit", "clear", "grid")
        assert code == 0, out
    async with running(tmp_path):
        code, out, _ = await ask(tmp_path, "power", "--json")
        assert json.loads(out)["limits"] == []
