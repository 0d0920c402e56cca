"""A config that passes the check must run (issue 8, item 3), kept as a seeded mutation run.

Every mutated shipped site file either passes `load_site` and a short run, or is refused with
file, line and key. The short run builds what the daemon builds from the config (state
directory, local API socket, simulators, links and devices, the control cycle) and runs a few
control cycles on a SimClock, uplink off. Devices are polled only on simulated links, so
nothing leaves 127.0.0.1.

More cases: EDGE_FUZZ_CASES=2000 EDGE_FUZZ_SEED=7 pytest tests/test_config_fuzz.py
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from edge.clock import SimClock
from edge.control_cycle import ControlCycle
from edge.drivers.fleet import build_fleet
from edge.local_api.server import LocalApiServer
from edge.process_image import ProcessImage
from edge.sdnotify import Notifier
from edge.sim.host import SimHost
from edge.siteconf import ConfigError, ConfigIssue, SiteConfig, load_site
from edge.siteconf.model import LinkType
from edge.status import one_line
from edge.uplink.link_settings import parse_broker
from tests.conftest import REPO

SEED = int(os.environ.get("EDGE_FUZZ_SEED", "8"))
CASES = int(os.environ.get("EDGE_FUZZ_CASES", "400"))
CONFIGS = sorted((REPO / "config").glob("*.toml"))
TEXTS = {p.name: p.read_text() for p in CONFIGS}

# Values that broke the check or the daemon before, and their neighbours; a value is mostly
# replaced by one of its own kind, so that more cases get past the schema to the deeper checks.
NUMBERS = [
    "nan", "inf", "-inf", "0", "-1", "0.0", "2.0", "0.001", "1" + "0" * 30, "1" + "0" * 400,
    "1e308", "65536", "99999", "5", "1",
]  # fmt: skip
STRINGS = [
    '""', '"x"', '"' + "y" * 300 + '"', '"a\\nb"', '"a\\u0000b"', '"Europe/Nowhere"', '"5"',
    '"mqtt://127.0.0.1:0"', '"mqtt://127.0.0.1:99999"', '"sub/dir"', '"/"', '"site.toml"',
    '"sine"', '"cabinet"', '"simulated"', '"modbus-rtu"', '"sim-lan"', '"grid"', '"ch01"',
]  # fmt: skip
OTHERS = [
    "true",
    "[]",
    '["a"]',
    "[[[[1]]]]",
    "{}",
    "{ a = { b = 1 } }",
    "1970-01-01",
    '"""\n[x\n"""',
]
_ASSIGN = re.compile(r"^(\s*[A-Za-z0-9_\"-]+\s*=\s*)(.*)$")


def _base(text: str, work: Path) -> str:
    """The shipped file with its storage in this case's own folder (and the OCPP passwords
    file beside it, private, as the check wants it)."""
    work.mkdir(parents=True, exist_ok=True)
    for secrets in (REPO / "config").glob("*.secrets"):
        (work / secrets.name).write_bytes(secrets.read_bytes())
        (work / secrets.name).chmod(0o600)
    text = re.sub(r"(?m)^state_dir = .*$", "", text)
    storage = f'[storage]\nstate_dir = "{work}/state"\nsocket = "{work}/edge.sock"\n'
    return text.replace("[storage]\n", storage, 1)


def _nasty(old: str, rnd: random.Random) -> str:
    pool = NUMBERS if old[:1].isdigit() else STRINGS if old.startswith('"') else OTHERS
    return rnd.choice(pool if rnd.random() < 0.8 else NUMBERS + STRINGS + OTHERS)


def _mutate(text: str, rnd: random.Random) -> str:
    """One to three edits: mostly a value replaced, sometimes a line dropped, doubled or a
    `[[table]]` header misspelt."""
    lines = text.splitlines()
    for _ in range(rnd.choice((1, 1, 1, 1, 2, 3))):
        values = [i for i, line in enumerate(lines) if _ASSIGN.match(line)]
        op = rnd.random()
        n = rnd.choice(values) if op < 0.85 else rnd.randrange(len(lines))
        assign = _ASSIGN.match(lines[n])
        if op < 0.7 and assign:
            lines[n] = assign.group(1) + _nasty(assign.group(2), rnd)
        elif op < 0.85 and assign:  # a value from elsewhere in the file, where it does not belong
            lines[n] = assign.group(1) + _ASSIGN.match(lines[rnd.choice(values)]).group(2)  # type: ignore[union-attr]
        elif op < 0.9:
            del lines[n]
        elif op < 0.95:
            lines.insert(n, lines[rnd.randrange(len(lines))])
        else:
            lines[n] = lines[n].replace("[[", "[[z", 1).replace("]]", "z]]", 1)
    return "\n".join(lines) + "\n"


def _assert_placed(issue: ConfigIssue, path: Path) -> None:
    """An error names file, line and key; only whole-file ones (syntax) have no key."""
    text = str(issue)
    assert issue.file == str(path), text
    whole_file = issue.message.startswith(("not valid TOML", "arrays or inline tables"))
    missing_table = len(issue.path) == 1 and issue.message.startswith("missing")
    assert issue.line is not None or missing_table, text
    assert issue.path or whole_file, text
    assert re.match(rf"^{re.escape(str(path))}(:\d+)?: \S", text), text


class _Records:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def offer(self, record: dict[str, Any]) -> None:
        self.records.append(record)


async def _no_safe_state() -> None:
    return None


async def short_run(config: SiteConfig, work: Path) -> None:
    """What `edge run` does with the config, bounded: a few control cycles on a SimClock."""
    config.storage.state_dir.mkdir(parents=True, exist_ok=True)  # as Daemon.run
    zoneinfo.ZoneInfo(config.timezone)
    if config.uplink.enabled:
        parse_broker(config.uplink.broker)
    clock, sims, sink = SimClock(), SimHost(), _Records()
    api = LocalApiServer(config.storage.socket or work / "edge.sock")
    image = ProcessImage(config.control.stale_after_s)
    tasks: list[asyncio.Task[None]] = []
    try:
        fleet = build_fleet(config, image, clock, await sims.start(config, clock))
        await api.start()
        if all(link.type is LinkType.SIMULATED for link in config.links):
            tasks = [asyncio.create_task(spec.run()) for spec in fleet.tasks()]  # type: ignore[arg-type]
            await fleet.first_poll(timeout_s=2.0)
        cycle = ControlCycle(
            config, image, clock, Notifier(""), sink, lambda r: one_line(config, r), _no_safe_state
        )
        tasks.append(asyncio.create_task(cycle.run()))
        period = config.control.period_s
        for _ in range(12):  # three periods in quarter steps: four cycles, not twelve
            for _ in range(5):
                await asyncio.sleep(0)
            clock.advance(period / 4 if math.isfinite(period) else 0.25)
        await asyncio.sleep(0)
        assert 2 <= cycle.completed <= 5, f"{cycle.completed} cycles in 3 periods"
        assert cycle.failed == 0
        json.dumps(sink.records, allow_nan=False)  # what the cloud and the API get is JSON
        for task in tasks:
            assert not task.done() or task.cancelled() or task.exception() is None
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await api.stop()
        await sims.stop()


@pytest.mark.parametrize("shipped", CONFIGS, ids=[p.name for p in CONFIGS])
async def test_shipped_config_runs_short(shipped: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(_base(TEXTS[shipped.name], tmp_path))
    await short_run(load_site(site), tmp_path)


async def _check_or_run(site: Path, text: str, work: Path, label: str) -> bool:
    """True if the file passed the check and the short run; False if it was refused with
    file, line and key; anything else fails the test."""
    try:
        config = load_site(site)
    except ConfigError as exc:
        errors = [i for i in exc.issues if i.severity == "error"]
        assert errors, f"{label}: ConfigError without an error"
        for issue in errors:
            _assert_placed(issue, site)
        return False
    try:
        await asyncio.wait_for(short_run(config, work), timeout=30)
    except BaseException as exc:
        raise AssertionError(f"{label} passed the check but did not run: {exc!r}\n" + text) from exc
    return True


async def test_mutated_configs_pass_check_and_run_or_fail_with_file_line_key(
    tmp_path: Path,
) -> None:
    rnd = random.Random(SEED)
    outcome = {"ran": 0, "refused": 0}
    for case in range(CASES):
        name = rnd.choice(sorted(TEXTS))
        work = tmp_path / f"case{case}"
        work.mkdir()
        site = work / "site.toml"
        text = _mutate(_base(TEXTS[name], work), rnd)
        site.write_text(text)
        ran = await _check_or_run(site, text, work, f"case {case} ({name}, seed {SEED})")
        outcome["ran" if ran else "refused"] += 1
    # Both sides are exercised, or the run proves little.
    print(f"fuzz seed={SEED} cases={CASES} {outcome}")
    assert outcome["ran"], outcome
    assert outcome["refused"], outcome


async def test_every_number_of_the_demo_made_nasty_is_refused_or_runs(tmp_path: Path) -> None:
    """Not random: each number in the demo in turn made nan, -inf, 2.0 or 10**30."""
    lines = _base(TEXTS["demo.toml"], tmp_path / "w").splitlines()
    numbers = [i for i, line in enumerate(lines) if re.match(r"^\w+ = -?[0-9]", line)]
    assert len(numbers) > 20
    for n in numbers:
        for nasty in ("nan", "-inf", "2.0", "1" + "0" * 30):
            work = tmp_path / f"line{n}-{len(nasty)}{nasty[:1]}"
            work.mkdir()
            edited = _base(TEXTS["demo.toml"], work).splitlines()
            edited[n] = edited[n].split("=")[0] + "= " + nasty
            text = "\n".join(edited) + "\n"
            site = work / "site.toml"
            site.write_text(text)
            await _check_or_run(site, text, work, f"demo line {n + 1} = {nasty}")
