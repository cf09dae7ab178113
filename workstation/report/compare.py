"""Comparing runs: their statistics side by side (terminal table, JSON, HTML), their equity curves
and drawdowns on one chart, and the config fields in which they differ.

Runs of different starting cash compare by return (percent of each run's own starting cash).
On the shared chart x is the position of a bar time in the sorted union of every run's equity
times, so runs over the same sessions line up point for point and nights take no room; a run that
has no point at a bar time simply has no vertex there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workstation.execution.stats import drawdown_series
from workstation.report.formatting import DASH, fmt_money, fmt_number, fmt_pct
from workstation.report.page import page
from workstation.report.run_report import GENERATOR, session_axis
from workstation.report.svg import PALETTE, Series, legend, line_chart

if TYPE_CHECKING:
    from workstation.runs import RunResults


@dataclass(frozen=True)
class Statistic:
    """One compared statistic: stats key, label, formatter, and which way is better (+1, -1, 0)."""

    key: str
    label: str
    text: Callable[[Any], str]
    better: int = 0


def _int(v: Any) -> str:
    return DASH if v is None else f"{int(v):,}"


STATISTICS: tuple[Statistic, ...] = (
    Statistic("total_return_pct", "Total return", fmt_pct, +1),
    Statistic("net_pnl", "Net P&L", fmt_money, +1),
    Statistic("closed_pnl", "  closed trades", fmt_money),       # the two parts of the net P&L
    Statistic("open_pnl", "  open at the end", fmt_money),
    Statistic("final_equity", "Final equity", lambda v: fmt_money(v, signed=False), +1),
    Statistic("starting_cash", "Starting cash", lambda v: fmt_money(v, signed=False, decimals=0)),
    Statistic("sharpe", "Sharpe", fmt_number, +1),
    Statistic("max_drawdown_pct", "Max drawdown", fmt_pct, +1),  # drawdowns are <= 0: higher is better
    Statistic("max_drawdown", "Max drawdown $", fmt_money, +1),
    Statistic("trades", "Trades", _int),
    Statistic("win_rate_pct", "Win rate", lambda v: fmt_pct(v, signed=False, decimals=1), +1),
    Statistic("profit_factor", "Profit factor", fmt_number, +1),
    Statistic("avg_trade_pnl", "Avg trade", fmt_money, +1),
    Statistic("best_trade", "Best trade", fmt_money),
    Statistic("worst_trade", "Worst trade", fmt_money),
    Statistic("exposure_pct", "Exposure", lambda v: fmt_pct(v, signed=False, decimals=1)),
    Statistic("open_exposure", "Exposure at the end", lambda v: fmt_money(v, signed=False)),
    Statistic("total_commission", "Commission, closed trades", lambda v: fmt_money(v, signed=False)),
    Statistic("sessions", "Sessions", _int),
    Statistic("start_time", "First bar (UTC)", lambda v: DASH if not v else str(v)[:16].replace("T", " ")),
    Statistic("end_time", "Last bar (UTC)", lambda v: DASH if not v else str(v)[:16].replace("T", " ")),
)


def run_labels(runs: Sequence[RunResults]) -> list[str]:
    """Short distinct column titles: the run folder names (with their parent when two are alike)."""
    labels = [r.run_dir.name or str(r.run_dir) for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{r.run_dir.parent.name}/{r.run_dir.name}" for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{label} #{i + 1}" for i, label in enumerate(labels)]
    return labels


def best_index(values: Sequence[Any], better: int) -> int | None:
    """Index of the best value of a row (None when no direction, fewer than 2 values or a tie)."""
    numbers = [(i, float(v)) for i, v in enumerate(values) if isinstance(v, int | float) and np.isfinite(v)]
    if better == 0 or len(numbers) < 2:
        return None
    top = max(v * better for _, v in numbers)
    winners = [i for i, v in numbers if v * better == top]
    return winners[0] if len(winners) == 1 else None


def compare_table(runs: Sequence[RunResults]) -> pd.DataFrame:
    """Statistics (rows, by label) of each run (columns, by run label), as formatted text."""
    labels = run_labels(runs)
    return pd.DataFrame({label: [s.text(r.stats.get(s.key)) for s in STATISTICS] for label, r in zip(labels, runs,
                                                                                                       strict=True)},
                        index=[s.label for s in STATISTICS])


def render_compare_text(runs: Sequence[RunResults]) -> str:
    """The side-by-side table for a terminal; '*' marks the best value of a row."""
    labels = run_labels(runs)
    first = max(len(s.label) for s in STATISTICS) + 2
    widths = [max(12, len(label), *(len(s.text(r.stats.get(s.key))) + 1 for s in STATISTICS)) + 2
              for label, r in zip(labels, runs, strict=True)]
    lines = ["statistic".ljust(first) + "".join(label.rjust(w) for label, w in zip(labels, widths, strict=True)),
             "-" * (first + sum(widths))]
    for s in STATISTICS:
        values = [r.stats.get(s.key) for r in runs]
        best = best_index(values, s.better)
        cells = [(s.text(v) + ("*" if i == best else " ")).rjust(w) for i, (v, w) in enumerate(zip(values, widths,
                                                                                                    strict=True))]
        lines.append(s.label.ljust(first) + "".join(cells))
    lines.append("")
    lines.append("* best of the row.  Runs:")
    for label, r in zip(labels, runs, strict=True):
        lines.append(f"  {label}: {r.name} ({r.run_dir})")
    differing = config_differences(runs)
    if differing:
        lines.append("")
        lines.append("Config fields that differ:")
        for path, values in differing.items():
            lines.append(f"  {path}: " + " | ".join(f"{label}={_short_json(v)}" for label, v in zip(labels, values,
                                                                                                   strict=True)))
    return "\n".join(lines)


def compare_json(runs: Sequence[RunResults]) -> list[dict[str, Any]]:
    """Every run's label, folder, name and statistics (JSON-ready)."""
    return [{"label": label, "run_dir": str(r.run_dir), "name": r.name, "statistics": r.stats}
            for label, r in zip(run_labels(runs), runs, strict=True)]


class _Absent:
    """A config path one run does not have (a strategy or indicator only the other runs hold)."""

    def __repr__(self) -> str:
        return "absent"


ABSENT = _Absent()


class _Item(dict):
    """A whole named entry of a keyed list (a strategy, a historical indicator), kept beside its fields."""


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        out = {}
        for v in value:
            item = f"{prefix}[{v['name']}]"
            out[item] = _Item(v)
            out.update(_flatten({k: x for k, x in v.items() if k != "name"}, item))
        return out
    return {prefix: value}


def config_differences(runs: Sequence[RunResults]) -> dict[str, list[Any]]:
    """Dotted config paths whose values differ between the runs (strategies and historical indicators
    keyed by their name). An entry only some runs hold is one line (the entry, or ABSENT), not one
    line per field; a list that is empty in one run and holds named entries in another is said by
    those entries' lines."""
    flat = [_flatten(r.config) for r in runs]
    paths = sorted({p for f in flat for p in f})
    whole: set[str] = set()           # entries shown whole: their fields are not listed again
    out = {}
    for p in paths:
        if any(p.startswith(w) and p[len(w)] in ".[" for w in whole if len(p) > len(w)):
            continue
        values = [f.get(p, ABSENT) for f in flat]
        items = [v for v in values if isinstance(v, _Item)]
        if items:
            if any(v is ABSENT for v in values):
                whole.add(p)
                out[p] = [v if v is ABSENT else {k: x for k, x in v.items() if k != "name"} for v in values]
            continue
        if all(v is ABSENT or v == [] for v in values) and any(q.startswith(p + "[") for f in flat for q in f):
            continue
        if any(v is ABSENT for v in values):
            values = _class_defaults(p, values, runs)
        texts = [json.dumps(v.value if isinstance(v, ClassDefault) else v, sort_keys=True, default=str)
                 for v in values]
        if any(t != texts[0] for t in texts[1:]) and p != "name":
            out[p] = values
    return out


class ClassDefault:
    """A strategy parameter a run's config leaves out: the value its class takes by default."""

    def __init__(self, value: Any):
        self.value = value

    def __repr__(self) -> str:
        return f"{json.dumps(self.value, default=str)} (default)"


_STRATEGY_PARAM = re.compile(r"strategies\[(?P<name>[^\]]+)\]\.params\.(?P<key>[^.\[]+)")


def _class_defaults(path: str, values: list[Any], runs: Sequence[RunResults]) -> list[Any]:
    """A strategy parameter some runs' configs leave out: their class's default in its place (so runs
    that used the same value do not differ); other paths, or a class not importable here, as they are."""
    match = _STRATEGY_PARAM.fullmatch(path)
    if match is None:
        return values
    from workstation.sweep.spec import strategy_parameters

    out = []
    for value, run in zip(values, runs, strict=True):
        entry = next((st for st in run.config.get("strategies") or [] if isinstance(st, dict)
                      and st.get("name") == match["name"]), None)
        if value is ABSENT and entry is not None:
            taken = strategy_parameters(entry)
            if match["key"] in taken and taken[match["key"]] is not None:
                value = ClassDefault(taken[match["key"]])
        out.append(value)
    return out


def _short_json(v: Any, limit: int = 60) -> str:
    text = (repr(v) if v is ABSENT or isinstance(v, ClassDefault) else json.dumps(v, default=str)
            if not isinstance(v, str) else v)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _shared_x(runs: Sequence[RunResults]) -> tuple[pd.Series, list[np.ndarray]]:
    times = [pd.DatetimeIndex(r.equity["time"]).as_unit("ns").asi8 for r in runs]
    union = np.unique(np.concatenate(times)) if times else np.zeros(0, dtype=np.int64)
    xs = [np.searchsorted(union, t).astype(np.float64) for t in times]
    return pd.Series(pd.to_datetime(union, unit="ns", utc=True)), xs


def render_compare_html(runs: Sequence[RunResults]) -> str:
    """Statistics side by side, equity (return %) and drawdown of every run on one chart, config diffs."""
    labels = run_labels(runs)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(runs))]
    union, xs = _shared_x(runs)
    tz = runs[0].timezone if runs else "UTC"
    axis = session_axis(union, tz)
    returns, drawdowns = [], []
    for label, r, x, colour in zip(labels, runs, xs, colours, strict=True):
        if r.equity.empty:
            continue
        cash = float(r.stats.get("starting_cash") or r.starting_cash)
        values = r.equity["equity"].to_numpy(dtype=np.float64)
        returns.append(Series(label, x, (values / cash - 1.0) * 100.0, colour, width=1.5))
        dd = drawdown_series(r.equity, cash)["drawdown_pct"].to_numpy()
        drawdowns.append(Series(label, x, dd, colour, width=1.2))
    pct = lambda v: fmt_pct(v, decimals=1)  # noqa: E731
    equity_chart = line_chart(returns, height=320, axis=axis, y_format=pct, reference=0.0,
                              reference_label="starting cash", label="Return of each run", css_class="compare-equity")
    dd_chart = line_chart(drawdowns, height=190, axis=axis, y_format=pct, label="Drawdown of each run",
                          css_class="compare-drawdown", y_ceiling=0.0)
    key = legend([(c, f"{label} \u2014 {r.name}") for c, label, r in zip(colours, labels, runs, strict=True)])
    head = "".join(f'<th><span style="color:{c}">\u25a0</span> {escape(label)}</th>'
                   for c, label in zip(colours, labels, strict=True))
    rows = []
    for s in STATISTICS:
        stat_values = [r.stats.get(s.key) for r in runs]
        best = best_index(stat_values, s.better)
        cells = "".join(('<td class="best">' if i == best else "<td>") + f"{escape(s.text(v))}</td>"
                        for i, v in enumerate(stat_values))
        rows.append(f'<tr><td class="l">{escape(s.label)}</td>{cells}</tr>')
    stats_table = (f'<table class="compare-stats"><thead><tr><th class="l">Statistic</th>{head}</tr></thead>'
                   f'<tbody>{"".join(rows)}</tbody></table>'
                   '<p class="note">Bold: the best value of the row (higher return, Sharpe, win rate, profit '
                   "factor; shallower drawdown).</p>")
    diffs = config_differences(runs)
    if diffs:
        diff_rows = "".join(
            f'<tr><td class="l"><code>{escape(p)}</code></td>'
            + "".join(f'<td class="l">{escape(_short_json(v, 80))}</td>' for v in values) + "</tr>"
            for p, values in diffs.items())
        diff_head = "".join(f'<th class="l"><span style="color:{c}">\u25a0</span> {escape(label)}</th>'
                            for c, label in zip(colours, labels, strict=True))
        diff_table = (f'<table class="config-diff"><thead><tr><th class="l">Config field</th>{diff_head}</tr>'
                      "</thead>"
                      f"<tbody>{diff_rows}</tbody></table>")
    else:
        diff_table = "<p class='note'>The runs have the same config (apart from their names).</p>"
    folders = "".join(f"<li><b>{escape(label)}</b>: {escape(r.name)} \u2014 <code>{escape(str(r.run_dir))}</code>"
                      f"</li>" for label, r in zip(labels, runs, strict=True))
    body = (f"<h1>Comparing {len(runs)} runs</h1><p class='sub'><span>times in {escape(tz)}</span>"
            "<span>returns relative to each run's starting cash</span></p>"
            f"<ul>{folders}</ul><h2>Statistics</h2>{stats_table}"
            f'<h2>Equity and drawdown</h2><div class="panel"><div class="cap">Return</div>{key}{equity_chart}</div>'
            f'<div class="panel"><div class="cap">Drawdown from the running peak</div>{dd_chart}</div>'
            f"<h2>Config differences</h2>{diff_table}")
    css = "<style>td.best { font-weight:700; background:#eef7f5; }</style>"
    return page(f"Comparing {', '.join(labels)}", css + body, GENERATOR)
