"""`edge sim run SCENARIO` and `edge sim generate`: the hub simulator (`docs/scenarios.md`).

`run` plays a scenario file's day on a virtual clock (as fast as it goes, or in real time),
with the baselines on the same arrivals and the perfect-knowledge bounds; prints a summary,
writes the JSON report (`--report`) and the day's plot (`--plot`, matplotlib). `generate`
writes a random but reproducible scenario from a seed and a few rates.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from edge.cli.daemon_call import EXIT_OK

EXIT_FAIL = 1


def register(sub: Any) -> None:
    sim = sub.add_parser("sim", help="run or generate hub scenarios (virtual time)")
    actions = sim.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    r = actions.add_parser("run", help="play a scenario file's day and report")
    r.add_argument("scenario", metavar="SCENARIO", help="a scenario TOML file")
    r.add_argument("--report", type=Path, help="write the JSON report here")
    r.add_argument("--plot", type=Path, help="write the day's PNG here (needs matplotlib)")
    r.add_argument("--speed", choices=("max", "realtime"), default="max")
    r.add_argument("--seed", type=int, help="override the scenario's seed")
    r.add_argument(
        "--knowledge",
        choices=("site", "exact"),
        help="override what the controller knows of each truck (docs/scenarios.md)",
    )
    r.add_argument("--no-baselines", action="store_true", help="skip FCFS, equal, EDF")
    r.add_argument("--no-bounds", action="store_true", help="skip the LP/MIP bounds")
    r.add_argument("--mip-seconds", type=float, default=30.0, help="time for the MIP bound")
    r.set_defaults(func=cmd_run)
    g = actions.add_parser("generate", help="write a random, reproducible scenario")
    g.add_argument("--seed", type=int, required=True)
    g.add_argument(
        "--rates",
        default="",
        help="comma-separated name=value: lunch, evening, scattered, overnight (trucks), "
        "mcs_share, booked_share, right_share, reports_needs_share (0..1)",
    )
    g.add_argument("--site", default="../config/antwerp-bruges.toml", help="relative to -o")
    g.add_argument("--start", default="2026-06-12T10:00", help="local YYYY-MM-DDTHH:MM")
    g.add_argument("-o", "--output", type=Path, help="the file (default: stdout)")
    g.set_defaults(func=cmd_generate)


def cmd_run(args: argparse.Namespace) -> int:
    from edge.sim.scenario import load_scenario  # noqa: PLC0415 (heavy; only for sim)
    from edge.sim.scenario_keys import ScenarioError  # noqa: PLC0415
    from edge.sim.scenario_run import full_report, realtime, run_day  # noqa: PLC0415

    try:
        sc = load_scenario(args.scenario, seed=args.seed)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAIL
    if args.knowledge:
        sc = dataclasses.replace(sc, knowledge=args.knowledge)
    result = run_day(sc, realtime() if args.speed == "realtime" else None)
    rep = full_report(
        sc,
        result,
        baselines=not args.no_baselines,
        with_bounds=not args.no_bounds,
        mip_seconds=args.mip_seconds,
    )
    from edge.sim.report import summary  # noqa: PLC0415

    print(summary(rep))
    if args.report:
        args.report.write_text(json.dumps(rep, indent=2) + "\n", encoding="utf-8")
    if args.plot:
        return _plot(result, sc.site.timezone, sc.name, args.plot)
    return EXIT_OK


def _plot(result: Any, timezone: str, name: str, path: Path) -> int:
    try:
        from edge.sim.plots import plot_day  # noqa: PLC0415

        plot_day(result, timezone, name, path)
    except ImportError:
        print("plot: matplotlib not installed (pip install 'edge-hub[sim]')", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from edge.sim.scenario_gen import GENERATE_KEYS, scenario_text  # noqa: PLC0415

    rates: dict[str, float] = {}
    for item in filter(None, args.rates.split(",")):
        name, _, value = item.partition("=")
        try:
            rates[name.strip()] = float(value)
        except ValueError:
            print(f"--rates: {item!r} is not name=number", file=sys.stderr)
            return 2
    known = set(GENERATE_KEYS) - {"seed"}
    unknown = sorted(set(rates) - known)
    if unknown:
        print(
            f"--rates: unknown {', '.join(unknown)} (known: {', '.join(sorted(known))})",
            file=sys.stderr,
        )
        return 2
    text = scenario_text(args.site, args.start, args.seed, rates)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return EXIT_OK
