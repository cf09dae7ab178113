"""Walk-forward analysis: windows in trading days, the stitched out-of-sample equity and the report.

Windows come from the exchange calendar (TimeManager sessions of the config's date range):
window k trains on the `train` sessions starting at session k*step and tests on the `test`
sessions that follow it; only complete windows are used. A train window always ends before its
test window starts, so the cells of a train window never receive a bar of its test window (the
sweep ships each cell only the dates up to its own end date; see `shipping`).

Stitching: each test window runs as its own backtest from the starting cash. The out-of-sample
equity is their concatenation in time with each window's P&L added to the equity reached at the
end of the previous one (additive, so the stitched curve and the trade P&L agree).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from workstation.errors import ConfigError

REPORT_STATISTICS = ("total_return_pct", "sharpe", "max_drawdown_pct", "profit_factor", "win_rate_pct", "trades")


@dataclass(frozen=True)
class WalkForwardWindow:
    """One train window and the test window right after it (exchange-local session dates)."""

    index: int
    train: tuple[dt.date, ...]
    test: tuple[dt.date, ...]

    @property
    def train_start(self) -> dt.date:
        return self.train[0]

    @property
    def train_end(self) -> dt.date:
        return self.train[-1]

    @property
    def test_start(self) -> dt.date:
        return self.test[0]

    @property
    def test_end(self) -> dt.date:
        return self.test[-1]

    def as_dict(self) -> dict[str, Any]:
        return {"window": self.index, "train_start": self.train_start.isoformat(),
                "train_end": self.train_end.isoformat(), "train_days": len(self.train),
                "test_start": self.test_start.isoformat(), "test_end": self.test_end.isoformat(),
                "test_days": len(self.test)}


def walk_forward_windows(sessions: Sequence[dt.date], train: int, test: int, step: int | None = None,
                         where: str = "--walk-forward") -> list[WalkForwardWindow]:
    """Complete (train, test) windows over `sessions` (trading dates, ascending), `step` sessions apart
    (default: `test`, so the test windows tile the range without overlap)."""
    step = step or test
    if train < 1 or test < 1 or step < 1:
        raise ConfigError(where, [(where, f"train, test and step must be at least 1 trading day, got "
                                          f"train={train}, test={test}, step={step}")])
    days = list(sessions)
    windows: list[WalkForwardWindow] = []
    start = 0
    while start + train + test <= len(days):
        windows.append(WalkForwardWindow(len(windows), tuple(days[start:start + train]),
                                         tuple(days[start + train:start + train + test])))
        start += step
    if not windows:
        span = f"{days[0]} .. {days[-1]}" if days else "(no sessions)"
        raise ConfigError(where, [(where, f"a window needs train + test = {train + test} trading days, but the "
                                          f"config's range {span} has {len(days)}: widen backtest.start_date/"
                                          f"end_date (or --start/--end) or shorten the windows")])
    return windows


def parse_walk_forward(text: str) -> dict[str, int]:
    """'train=20,test=5,step=5' -> {'train': 20, 'test': 5, 'step': 5} (step optional)."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("train", "test", "step") or not value.strip().isdigit():
            raise ConfigError("--walk-forward", [("--walk-forward", f"{text!r} is not like 'train=20,test=5,step=5' "
                                                                   "(trading days; step is optional)")])
        out[key] = int(value)
    if "train" not in out or "test" not in out:
        raise ConfigError("--walk-forward", [("--walk-forward", f"{text!r} needs both train= and test=")])
    return out


def stitch_equity(windows: Sequence[tuple[int, pd.DataFrame]], starting_cash: float) -> pd.DataFrame:
    """The out-of-sample equity: each (window, equity frame) in order, its P&L added to the equity at
    the end of the previous window. Columns: time, equity, window, gross_exposure."""
    frames, carried = [], 0.0
    for index, equity in windows:
        if equity is None or equity.empty:
            continue
        pnl = equity["equity"].to_numpy(dtype=np.float64) - float(starting_cash)
        frames.append(pd.DataFrame({
            "time": pd.to_datetime(equity["time"], utc=True).to_numpy(),
            "equity": float(starting_cash) + carried + pnl,
            "window": np.full(len(equity), index, dtype=np.int64),
            "gross_exposure": equity["gross_exposure"].to_numpy(dtype=np.float64)
            if "gross_exposure" in equity else np.zeros(len(equity)),
        }))
        carried += float(pnl[-1])
    if not frames:
        return pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns, UTC]"), "equity": [], "window": [],
                             "gross_exposure": []})
    out = pd.concat(frames, ignore_index=True)
    out["time"] = pd.to_datetime(out["time"], utc=True)
    return out


def _number(value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


SHORT_NAMES = {"total_return_pct": "return %", "sharpe": "sharpe", "max_drawdown_pct": "max DD %",
               "profit_factor": "profit f.", "win_rate_pct": "win %", "trades": "trades"}


def report_text(windows: pd.DataFrame, overall: dict, objective: str, aliases: dict[str, str]) -> str:
    """The walk-forward report as text: one line per window, then in-sample against out-of-sample overall."""
    stats = (objective, *[s for s in REPORT_STATISTICS if s != objective])
    name = SHORT_NAMES.get(objective, objective)
    rows = windows.to_dict("records")
    # each window's chosen parameters in full (the column as wide as the longest): cut to a fixed width,
    # two parameters' values fell off the end ("range_minutes=30 reward_")
    texts = [" ".join(f"{aliases.get(k, k)}={v}" for k, v in (row.get("params") or {}).items()) for row in rows]
    width = max([len("parameters"), *map(len, texts)])
    head = (f"{'window':>6}  {'train':<22}  {'test':<22}  {'parameters':<{width}}  {'IS ' + name:>12}  "
            + "  ".join(f"{'OOS ' + SHORT_NAMES.get(s, s):>13}" for s in stats))
    lines = ["Walk-forward: in-sample (IS) = the best train cell, out-of-sample (OOS) = its parameters on the "
             "test window", "=" * len(head), head]
    for row, params in zip(rows, texts, strict=True):
        train = f"{row['train_start']}..{row['train_end']}"
        test = f"{row['test_start']}..{row['test_end']}"
        status = "" if row.get("status") == "ok" else f"  ({row.get('status')}: {row.get('error') or ''})"
        lines.append(f"{row['window']:>6}  {train:<22}  {test:<22}  {params:<{width}}  "
                     f"{_fmt(row.get(f'is_{objective}'), 12)}  "
                     + "  ".join(_fmt(row.get(f"oos_{s}"), 13) for s in stats) + status)
    lines += ["", f"{'overall':<24}{'IS (mean of windows)':>24}{'OOS (stitched)':>24}", "-" * 72]
    for s in stats:
        lines.append(f"{SHORT_NAMES.get(s, s):<24}{_fmt(overall.get('in_sample', {}).get(s), 24)}"
                     f"{_fmt(overall.get('out_of_sample', {}).get(s), 24)}")
    lines.append(f"{'walk-forward efficiency':<24}{'':>24}{_fmt(overall.get('efficiency'), 24)}"
                 "   (OOS return per day / IS return per day; only when IS > 0)")
    return "\n".join(lines) + "\n"


def _fmt(value: Any, width: int = 13) -> str:
    v = _number(value)
    if not math.isfinite(v):
        return f"{'-':>{width}}"
    if float(v).is_integer() and abs(v) < 1e9:
        return f"{int(v):>{width},}"
    return f"{v:>{width},.{1 if abs(v) >= 100 else 3}f}"


def _finite_mean(values: Sequence[float]) -> float | None:
    """np.nanmean of `values` when it is finite, else None: a statistic no window has (the profit
    factor of windows without a trade, all NaN) is None, without numpy's "Mean of empty slice"
    warning on the user's screen; one infinite (a profit factor without a loss) makes it None too."""
    known = [v for v in values if not math.isnan(v)]
    mean = float(np.mean(known)) if known else math.nan
    return mean if math.isfinite(mean) else None


def overall_summary(window_rows: Sequence[dict], stitched_stats: dict, objective: str) -> dict:
    """In-sample (mean over windows of the best train cells) against out-of-sample (stitched) figures,
    plus the walk-forward efficiency: out-of-sample return per trading day / in-sample return per day."""
    ok = [r for r in window_rows if r.get("status") == "ok"]
    keys = (objective, *REPORT_STATISTICS)
    in_sample = {k: _finite_mean([_number(r.get(f"is_{k}")) for r in ok]) for k in keys}
    out = {k: stitched_stats.get(k) for k in keys}
    is_daily = [(_number(r.get("is_total_return_pct")) / 100.0) / max(1, int(r.get("train_days") or 1)) for r in ok]
    oos_days = sum(int(r.get("test_days") or 0) for r in ok)
    oos_total = _number(stitched_stats.get("total_return_pct")) / 100.0
    mean_is = _finite_mean(is_daily)
    eff = (oos_total / oos_days) / mean_is if oos_days and mean_is is not None and mean_is > 0 else math.nan
    return {"windows": len(window_rows), "windows_ok": len(ok), "in_sample": in_sample, "out_of_sample": out,
            "efficiency": eff if math.isfinite(eff) else None}


def write_walk_forward(plan, rows: dict[str, dict], test_cells: dict[int, str], folder) -> tuple[dict, str]:
    """Once every window is tested: per window the best train cell (in-sample) against its test cell
    (out-of-sample), the stitched out-of-sample equity from the test cells' run folders, the overall
    figures; written as walk_forward.parquet, walk_forward_equity.parquet, walk_forward.json and .txt.
    `test_cells` maps a window to its test cell id. Returns (summary, report text)."""
    import json

    from workstation.execution.stats import compute_stats
    from workstation.sweep.results import atomic_json, atomic_parquet, best_row

    cfg = plan.base_config
    by_id = {c.cell_id: c for c in plan.cells}
    window_rows, equities, trades = [], [], []
    for w in plan.windows:
        train = [rows[c.cell_id] for c in plan.cells if c.window == w.index and c.cell_id in rows]
        best = best_row(train, plan.objective, plan.direction)
        test_id = test_cells.get(w.index)
        test = rows.get(test_id) if test_id else None
        entry: dict[str, Any] = {**w.as_dict(),
                                 "params": dict(by_id[best["cell_id"]].params) if best else {},
                                 "train_cells": len(train),
                                 "train_failed": sum(1 for r in train if r.get("status") != "ok"),
                                 "best_train_cell_id": best["cell_id"] if best else None,
                                 "test_cell_id": test_id,
                                 "status": test.get("status") if test else "missing",
                                 "error": test.get("error") if test else None}
        for s in dict.fromkeys((plan.objective, *REPORT_STATISTICS)):
            entry[f"is_{s}"] = best.get(s) if best else None
            entry[f"oos_{s}"] = test.get(s) if test and test.get("status") == "ok" else None
        window_rows.append(entry)
        if test and test.get("status") == "ok":
            run = folder.run_dir(test_id)
            equities.append((w.index, pd.read_parquet(run / "equity.parquet")))
            trades.append(pd.read_parquet(run / "trades.parquet"))
    cash = float(cfg["execution"]["starting_cash"])
    stitched = stitch_equity(equities, cash)
    all_trades = pd.concat(trades, ignore_index=True) if trades else pd.DataFrame(
        columns=["symbol", "quantity", "pnl", "commission"])
    oos = compute_stats(stitched, all_trades, cash, tz=cfg["timezone"])
    overall = overall_summary(window_rows, oos, plan.objective)
    table = pd.DataFrame([{**r, "params": json.dumps(r["params"])} for r in window_rows])
    atomic_parquet(table, folder.root / "walk_forward.parquet")
    atomic_parquet(stitched, folder.root / "walk_forward_equity.parquet")
    summary = {"objective": plan.objective, "direction": plan.direction, "windows": window_rows,
               "overall": overall, "out_of_sample_statistics": oos}
    atomic_json(summary, folder.root / "walk_forward.json")
    text = report_text(pd.DataFrame(window_rows), overall, plan.objective, plan.aliases)
    (folder.root / "walk_forward.txt").write_text(text, encoding="utf-8")
    return summary, text
