"""The figures of the reports, computed from a run's frames (pure pandas/numpy, no drawing).

Returns are in percent. Daily figures use the exchange-local session date of each equity point
(the point's time is a bar start, UTC); a day's equity is its last point, and the first day's
return is measured from the starting cash, as the Sharpe ratio in execution/stats.py. Monthly
returns compound the daily ones: month-end equity over the previous month-end (or the starting
cash). Holding times are exit bar start minus entry bar start.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.execution.stats import daily_equity
from workstation.report.svg import nice_step


def daily_returns(equity: pd.DataFrame, starting_cash: float, tz: str) -> pd.DataFrame:
    """Per session date: equity (last point), pnl and return_pct against the previous session."""
    daily = daily_equity(equity, tz)
    if daily.empty:
        return pd.DataFrame({"date": [], "equity": [], "pnl": [], "return_pct": []})
    values = daily.to_numpy(dtype=np.float64)
    previous = np.concatenate([[float(starting_cash)], values[:-1]])
    return pd.DataFrame({
        "date": list(daily.index),
        "equity": values,
        "pnl": values - previous,
        "return_pct": _returns_pct(values, previous),
    })


def _returns_pct(values: np.ndarray, previous: np.ndarray) -> np.ndarray:
    """Percent change; NaN (undefined) where the previous equity is zero or negative."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(previous > 0, (values / previous - 1.0) * 100.0, np.nan)


def monthly_returns(daily: pd.DataFrame, starting_cash: float) -> pd.DataFrame:
    """Per calendar month of the sessions: year, month, equity at its last session, return_pct."""
    if daily.empty:
        return pd.DataFrame({"year": [], "month": [], "equity": [], "return_pct": []})
    dates = pd.to_datetime(pd.Series(daily["date"]).astype(str))
    frame = pd.DataFrame({"year": dates.dt.year.to_numpy(), "month": dates.dt.month.to_numpy(),
                          "equity": daily["equity"].to_numpy(dtype=np.float64)})
    last = frame.groupby(["year", "month"], sort=True)["equity"].last().reset_index()
    previous = np.concatenate([[float(starting_cash)], last["equity"].to_numpy()[:-1]])
    last["return_pct"] = _returns_pct(last["equity"].to_numpy(), previous)
    return last


def yearly_returns(monthly: pd.DataFrame, starting_cash: float) -> pd.DataFrame:
    """Per calendar year: equity at its last session and return_pct against the year before."""
    if monthly.empty:
        return pd.DataFrame({"year": [], "equity": [], "return_pct": []})
    last = monthly.groupby("year", sort=True)["equity"].last().reset_index()
    previous = np.concatenate([[float(starting_cash)], last["equity"].to_numpy()[:-1]])
    last["return_pct"] = _returns_pct(last["equity"].to_numpy(), previous)
    return last


def nice_edges(lo: float, hi: float, bins: int = 24) -> np.ndarray:
    """Bin edges of a round width covering [lo, hi], with 0 among them when the range spans it."""
    if hi <= lo:
        width = nice_step(abs(lo) or 1.0, 4)
        start = np.floor(lo / width) * width
        return np.array([start, start + width]) if start + width > hi else np.array([start, start + 2 * width])
    width = nice_step(hi - lo, bins)
    first = np.floor(lo / width) * width
    count = int(np.floor((hi - first) / width)) + 1
    return first + width * np.arange(count + 1)


@dataclass(frozen=True)
class Histogram:
    """Bin counts over `edges`; with `open_low` the first bin also holds everything below its left edge,
    with `open_high` the last bin everything above its right edge (the tails of a few outliers)."""

    counts: np.ndarray
    edges: np.ndarray
    open_low: bool = False
    open_high: bool = False


def pnl_histogram(pnl: np.ndarray, bins: int = 24) -> Histogram:
    """Trade P&L in bins of a round width with an edge at 0 (wins and losses never share a bin; a
    trade of exactly 0 counts in the bin starting at 0). When a few outliers would squeeze the rest
    into one or two bins, the bins span the 1st to 99th percentile and the outer bins are open."""
    pnl = np.asarray(pnl, dtype=np.float64)
    pnl = pnl[np.isfinite(pnl)]
    if len(pnl) == 0:
        return Histogram(np.zeros(0, dtype=np.int64), np.zeros(0))
    lo, hi = float(pnl.min()), float(pnl.max())
    p_lo, p_hi = (float(v) for v in np.percentile(pnl, [1, 99]))
    clip = len(pnl) >= 50 and p_hi > p_lo and (hi - lo) > 4 * (p_hi - p_lo)
    if clip:
        lo, hi = min(p_lo, 0.0) if lo < 0 <= p_lo else p_lo, max(p_hi, 0.0) if hi > 0 >= p_hi else p_hi
    edges = nice_edges(lo, hi, bins)
    values = np.clip(pnl, edges[0], edges[-1]) if clip else pnl
    counts, _ = np.histogram(values, bins=edges)
    open_low = bool(clip and (pnl < edges[0]).any())
    open_high = bool(clip and (pnl > edges[-1]).any())
    return Histogram(counts.astype(np.int64), edges, open_low, open_high)


def holding_minutes(trades: pd.DataFrame) -> np.ndarray:
    """Minutes from entry to exit of each trade (bar starts)."""
    if trades.empty:
        return np.zeros(0)
    delta = pd.to_datetime(trades["exit_time"]) - pd.to_datetime(trades["entry_time"])
    return delta.dt.total_seconds().to_numpy(dtype=np.float64) / 60.0


def group_table(trades: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per value of `by` (symbol or strategy): trades, wins, win_rate_pct, net_pnl, gross_profit,
    gross_loss, avg_pnl, best, worst, commission, long, short; sorted by net_pnl descending."""
    columns = ["trades", "wins", "win_rate_pct", "net_pnl", "gross_profit", "gross_loss", "avg_pnl", "best",
               "worst", "commission", "long", "short"]
    if trades.empty:
        return pd.DataFrame(columns=[by, *columns])
    t = pd.DataFrame({
        by: trades[by].astype(str).to_numpy(),
        "pnl": trades["pnl"].to_numpy(dtype=np.float64),
        "commission": trades["commission"].to_numpy(dtype=np.float64) if "commission" in trades else 0.0,
        "quantity": trades["quantity"].to_numpy(dtype=np.float64),
    })
    t["win"] = t["pnl"] > 0
    t["profit"] = t["pnl"].clip(lower=0)
    t["loss"] = t["pnl"].clip(upper=0)
    t["is_long"] = t["quantity"] > 0
    t["is_short"] = t["quantity"] < 0
    g = t.groupby(by, sort=True)
    out = pd.DataFrame({
        "trades": g.size(),
        "wins": g["win"].sum().astype(np.int64),
        "net_pnl": g["pnl"].sum(),
        "gross_profit": g["profit"].sum(),
        "gross_loss": g["loss"].sum(),
        "avg_pnl": g["pnl"].mean(),
        "best": g["pnl"].max(),
        "worst": g["pnl"].min(),
        "commission": g["commission"].sum(),
        "long": g["is_long"].sum().astype(np.int64),
        "short": g["is_short"].sum().astype(np.int64),
    })
    out["win_rate_pct"] = out["wins"] / out["trades"] * 100.0
    out = out.reset_index()[[by, *columns]]
    return out.sort_values(["net_pnl", by], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def streamed_interval(quality: pd.DataFrame, config: dict) -> str | None:
    """The interval whose quality is measured directly (the streamed one), else the first present."""
    if quality.empty:
        return None
    streams = config.get("streams")
    if not isinstance(streams, dict):
        streams = {}
    wanted = str(streams.get("interval") or "1m")
    present = list(dict.fromkeys(quality["interval"].astype(str)))
    return wanted if wanted in present else present[0]


def coverage_by_symbol(quality: pd.DataFrame, interval: str) -> pd.DataFrame:
    """Per symbol over the run's sessions: sessions, expected, present, quality_pct (present/expected),
    worst_session_pct, gaps, missing (of one interval)."""
    q = quality[quality["interval"].astype(str) == interval]
    columns = ["symbol", "sessions", "expected", "present", "quality_pct", "worst_session_pct", "gaps", "missing"]
    if q.empty:
        return pd.DataFrame(columns=columns)
    g = q.groupby(q["symbol"].astype(str), sort=True)
    out = pd.DataFrame({
        "sessions": g["session_date"].nunique(),
        "expected": g["expected"].sum().astype(np.int64),
        "present": g["present"].sum().astype(np.int64),
        "worst_session_pct": g["quality_pct"].min(),
        "gaps": g["gaps"].sum().astype(np.int64),
        "missing": g["missing"].sum().astype(np.int64),
    })
    with np.errstate(divide="ignore", invalid="ignore"):
        out["quality_pct"] = np.where(out["expected"] > 0, out["present"] / out["expected"] * 100.0, np.nan)
    out = out.reset_index().rename(columns={"index": "symbol"})
    return out[columns]


def coverage_matrix(quality: pd.DataFrame, interval: str) -> pd.DataFrame:
    """quality_pct of one interval with one row per session date and one column per symbol."""
    q = quality[quality["interval"].astype(str) == interval]
    if q.empty:
        return pd.DataFrame()
    return q.pivot_table(index="session_date", columns="symbol", values="quality_pct", aggfunc="last").sort_index()
