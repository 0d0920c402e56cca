"""Cost of checking a site file: the line scanner on the file that made it cubic, and a whole
`load_site`, each against tomllib parsing the same text in the same run (the raw baseline).

python -m bench.config_check [--runs 5]. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path

from edge.siteconf import load_site
from edge.siteconf.toml_lines import index_lines

REPO = Path(__file__).resolve().parents[1]


def best_of(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bracket_in_string(spaces: int) -> str:
    """A line starting with `[` inside a multi-line string (2,000 spaces took 7.6 s before)."""
    return 'name = """\n[' + " " * spaces + '\n"""\n'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print("line scanner vs tomllib on the same text (median of runs)")
    for spaces in (2_000, 4_000, 8_000, 1_000_000):
        text = bracket_in_string(spaces)
        scan = best_of(runs, lambda t=text: index_lines(t))
        parse = best_of(runs, lambda t=text: tomllib.loads(t))
        print(f"  [ + {spaces:>9,} spaces: scan {scan * 1e3:8.2f} ms, "
              f"tomllib {parse * 1e3:8.2f} ms, ratio {scan / parse:5.2f}")  # fmt: skip
    for name in ("demo.toml", "antwerp-bruges.toml"):
        text = (REPO / "config" / name).read_text()
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / name
            site.write_text(text)
            load_site(site)  # warm: the profile catalogue is read once per process
            load = best_of(runs, lambda s=site: load_site(s))
            parse = best_of(runs, lambda t=text: tomllib.loads(t))
            scan = best_of(runs, lambda t=text: index_lines(t))
        print(f"  {name}: load_site {load * 1e3:.1f} ms (scan {scan * 1e3:.2f} ms), "
              f"tomllib {parse * 1e3:.2f} ms, ratio {load / parse:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
