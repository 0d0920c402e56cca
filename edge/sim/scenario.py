"""Scenario files: a site, a day, its weather, its trucks and its faults (`docs/scenarios.md`).

`load_scenario(path)` reads and checks one TOML file (every problem named with its file, key
and line: `ScenarioError`) and returns a `Scenario`, whose `runner(policy)` is the day
runner for it. Arrivals are listed (`[[arrivals]]`), drawn from a seed (`[generate]`,
`edge.sim.scenario_gen`), or both.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.power.allocator import allocate
from edge.power.baselines import Policy
from edge.sim.day_runner import DayRunner
from edge.sim.events import Event
from edge.sim.plant import Weather
from edge.sim.scenario_items import arrivals_of, faults_of, weather_of
from edge.sim.scenario_keys import Keys, ScenarioError, parse_when
from edge.sim.trucks import TruckSpec
from edge.siteconf.issues import ConfigIssue
from edge.siteconf.loader import load_site
from edge.siteconf.model import SiteConfig

TOP = ("scenario", "weather", "generate", "arrivals", "faults")
SCENARIO_KEYS = (
    "name",
    "site",
    "start",
    "duration_h",
    "period_s",
    "seed",
    "knowledge",
    "patience_min",
    "telemetry_s",
    "sample_s",
    "export_kw",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    file: Path
    site: SiteConfig
    start: float  # UTC epoch s
    duration_s: float
    period_s: float
    seed: int
    knowledge: str  # "site" or "exact" (`DayRunner.knowledge`)
    patience_s: float
    telemetry_s: float
    sample_s: float
    weather: Weather
    trucks: tuple[TruckSpec, ...]
    events: tuple[Event, ...]

    def runner(self, policy: Policy = allocate, *, record: bool = True) -> DayRunner:
        """The day runner for this scenario; `record` False: no outbox, no series (the
        baselines' runs, which only need the service figures)."""
        return DayRunner(
            self.site,
            self.trucks,
            self.start,
            self.duration_s,
            self.period_s,
            policy,
            self.weather,
            self.events,
            self.seed,
            knowledge=self.knowledge,
            gate=True,
            patience_s=self.patience_s,
            uplink=record,
            telemetry_s=self.telemetry_s,
            sample_s=self.sample_s if record else 0.0,
        )


def load_scenario(path: str | Path, *, seed: int | None = None) -> Scenario:
    """Read and check `path`; `seed` overrides `[scenario] seed` (and `[generate] seed`)."""
    file = Path(path)
    name = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([ConfigIssue(name, (), f"cannot read: {exc.strerror or exc}")]) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([ConfigIssue(name, (), f"not valid TOML: {exc}")]) from exc
    keys = Keys(name, text)
    keys.unknown((), data, TOP)
    head = keys.table(data, "scenario")
    keys.unknown(("scenario",), head, SCENARIO_KEYS)
    site = _site(keys, head, file)
    if site is None:
        raise ScenarioError(keys.issues)
    site = _export_limit(keys, head, site)
    scenario = _build(keys, data, head, site, file, seed)
    if keys.issues:
        raise ScenarioError(keys.issues)
    return scenario


def _site(keys: Keys, head: Mapping[str, Any], file: Path) -> SiteConfig | None:
    ref = keys.typed(("scenario", "site"), head, str, "")
    if not ref:
        keys.fail(("scenario", "site"), "required: the site file, relative to this file")
        return None
    try:
        return load_site(file.resolve().parent / ref)
    except Exception as exc:
        keys.fail(("scenario", "site"), f"site file {ref}: {exc}")
        return None


def _export_limit(keys: Keys, head: Mapping[str, Any], site: SiteConfig) -> SiteConfig:
    """`export_kw`: the grid connection's `limits[].export_kw` for this run (where the site
    file gives none, or to try another cap); the site file's otherwise."""
    if "export_kw" not in head:
        return site
    kw = keys.number(("scenario", "export_kw"), head, lo=0.0, hi=1e5)
    root = site.root_limit()
    limits = tuple(
        dataclasses.replace(n, export_kw=kw) if n.id == root.id else n for n in site.limits
    )
    return dataclasses.replace(site, limits=limits)


def _build(
    keys: Keys,
    data: Mapping[str, Any],
    head: Mapping[str, Any],
    site: SiteConfig,
    file: Path,
    seed: int | None,
) -> Scenario:
    tz = ZoneInfo(site.timezone)
    start_text = keys.typed(("scenario", "start"), head, str, "")
    day0 = datetime(2026, 6, 12, tzinfo=tz)
    if not start_text:
        keys.fail(("scenario", "start"), 'required: local "YYYY-MM-DDTHH:MM"')
        start = day0.timestamp()
    else:
        start = parse_when(start_text, day0, lambda m: keys.fail(("scenario", "start"), m))
    day0 = datetime.fromtimestamp(start, tz).replace(hour=0, minute=0)
    run_seed = seed if seed is not None else int(keys.typed(("scenario", "seed"), head, int, 0))
    trucks = arrivals_of(keys, data, day0, site, run_seed if seed is not None else None)
    return Scenario(
        name=keys.typed(("scenario", "name"), head, str, file.stem),
        file=file,
        site=site,
        start=start,
        duration_s=keys.number(("scenario", "duration_h"), head, 24.0, 0.001, 96.0) * 3600.0,
        period_s=keys.number(("scenario", "period_s"), head, site.control.period_s, 0.1, 60.0),
        seed=run_seed,
        knowledge=keys.choice(("scenario", "knowledge"), head, ("site", "exact"), "site"),
        patience_s=keys.number(("scenario", "patience_min"), head, 15.0, 0.0, 1440.0) * 60.0,
        telemetry_s=keys.number(("scenario", "telemetry_s"), head, 60.0, 1.0, 3600.0),
        sample_s=keys.number(("scenario", "sample_s"), head, 60.0, 1.0, 3600.0),
        weather=weather_of(keys, keys.table(data, "weather")),
        trucks=trucks,
        events=faults_of(keys, keys.tables(data, "faults"), day0, site),
    )
