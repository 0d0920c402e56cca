"""The day in one PNG (matplotlib, the `[sim]` extra): site power stacked by source with
the grid limit (on a day with curtailment, also what was curtailed, the export and its
limit), charging per plot, each truck's energy wanted against delivered, and the gate
queue over time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge.sim.day_runner import DayResult
from edge.sim.series import Series

KW = 1e-3


def plot_day(result: DayResult, timezone: str, title: str, path: Path) -> None:
    """Write the figure to `path`. ImportError (from matplotlib) when the extra is missing."""
    import matplotlib as mpl  # noqa: PLC0415 (optional extra)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    s = result.series
    if s is None or not s.t:
        raise ValueError("plot: the run kept no series (sample_s = 0)")
    tz = ZoneInfo(timezone)
    x = [datetime.fromtimestamp(t, tz) for t in s.t]
    fig, ax = plt.subplots(4, 1, figsize=(12, 14), constrained_layout=True)
    _power(ax[0], x, s, title, result.export_limit_w)
    for plot, ws in sorted(s.plot_w.items()):
        ax[1].plot(x, [w * KW for w in ws], label=plot)
    ax[1].set_ylabel("kW")
    ax[1].set_title("charging per plot")
    ax[1].legend(loc="upper left", fontsize=8)
    on = [t for t in result.trucks if t.bay is not None]
    idx = range(len(on))
    ax[2].bar(idx, [t.wanted_wh * KW for t in on], color="lightgray", label="wanted")
    ax[2].bar(idx, [t.delivered_wh * KW for t in on], color="tab:green", label="delivered")
    ax[2].set_ylabel("kWh")
    ax[2].set_title("per truck: energy wanted and delivered")
    ax[2].legend(loc="upper left", fontsize=8)
    ax[3].step(x, s.gate_queue, where="post")
    ax[3].set_ylabel("trucks")
    ax[3].set_title("gate queue")
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _power(ax: Any, x: list[datetime], s: Series, title: str, export_limit_w: float | None) -> None:
    """Site power stacked by source (solar and wind as fed in, then what the export limit
    curtailed), the grid limits, the charging power and the export."""
    imported = [max(0.0, g) * KW for g in s.grid_w]
    ax.stackplot(
        x,
        imported,
        [w * KW for w in s.solar_w],
        [w * KW for w in s.wind_w],
        [w * KW for w in s.curtailed_w],
        labels=["grid import", "solar", "wind", "curtailed"],
        colors=["tab:blue", "gold", "tab:green", "lightgray"],
        alpha=0.8,
    )
    ax.plot(x, [w * KW for w in s.limit_w], "k--", label="grid import limit")
    ax.plot(x, [w * KW for w in s.charging_w], color="tab:red", lw=0.8, label="charging")
    if export_limit_w is not None and any(s.curtailed_w):
        ax.plot(
            x, [max(0.0, -g) * KW for g in s.grid_w], color="tab:purple", lw=0.8, label="export"
        )
        ax.axhline(export_limit_w * KW, color="tab:purple", ls=":", label="export limit")
    ax.set_ylabel("kW")
    ax.set_title(f"{title}: site power by source")
    ax.legend(loc="upper left", fontsize=8)
