"""Backtest statistics from an equity curve and a trade list (JSON-friendly output).

`statistics` computes them from numpy arrays, without pandas (a `workstation run` writes them at
its end and never loads pandas); `compute_stats` takes the frames a run folder holds (equity curve,
trade list) and gives the same numbers. Every figure is the one the earlier pandas implementation
computed, bit for bit (tests/workstation/execution/test_stats.py keeps that implementation as the
expectation): the same numpy reductions on the same arrays in the same order.

Conventions (all documented in `compute_stats`):
- Drawdowns are reported as NEGATIVE numbers (-5.2 means 5.2 % below the running peak); the
  running peak starts at the starting cash, so a loss on the very first bar is a drawdown.
- Sharpe is annualised with sqrt(252) from daily returns: the last equity point of each
  exchange-local date, the first day's return measured from the starting cash; risk-free rate 0.
  It is None with fewer than 2 daily returns (one session) or with zero volatility.
- Profit factor is gross profit / |gross loss|; None when there is no losing trade (it would be
  infinite) or no trade at all.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
else:
    from workstation.lazy_modules import LazyModule

    pd = LazyModule("pandas")  # imported at first use: not on the path to a run's first bar

TRADING_DAYS_PER_YEAR = 252


def _f(x: Any) -> float | None:
    """Plain float for JSON; NaN/inf become None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _iso(ts: pd.Timestamp | None) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    ts = pd.Timestamp(ts)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def _utc_times(values: pd.Series) -> pd.Series:
    t = pd.to_datetime(values)
    return t.dt.tz_localize("UTC") if t.dt.tz is None else t.dt.tz_convert("UTC")


def drawdown_series(equity: pd.DataFrame, starting_cash: float | None = None) -> pd.DataFrame:
    """Per equity point: time, running peak, drawdown (currency, <= 0) and drawdown_pct (<= 0).

    The running peak starts at `starting_cash` when given (else at the first equity point).
    """
    values = equity["equity"].to_numpy(dtype=np.float64)
    if len(values) and starting_cash is not None:
        peak = np.maximum.accumulate(np.concatenate([[float(starting_cash)], values]))[1:]
    else:
        peak = np.maximum.accumulate(values) if len(values) else values.copy()
    dd = values - peak
    with np.errstate(divide="ignore", invalid="ignore"):
        dd_pct = np.where(peak > 0, dd / peak * 100.0, 0.0)
    return pd.DataFrame(
        {
            "time": equity["time"].to_numpy() if "time" in equity else np.arange(len(values)),
            "peak": peak,
            "drawdown": dd,
            "drawdown_pct": dd_pct,
        },
        index=equity.index,
    )


def daily_equity(equity: pd.DataFrame, tz: str = "America/New_York") -> pd.Series:
    """Last equity value of each exchange-local date, indexed by that date."""
    if equity.empty:
        return pd.Series(dtype=np.float64)
    local_dates = _utc_times(equity["time"]).dt.tz_convert(tz).dt.date
    return equity["equity"].astype(np.float64).groupby(local_dates.to_numpy(), sort=True).last()


def sharpe_ratio(equity: pd.DataFrame, starting_cash: float, tz: str = "America/New_York") -> float | None:
    """Annualised Sharpe of daily returns (first return from `starting_cash`); None if undefined."""
    daily = daily_equity(equity, tz)
    if len(daily) < 2:
        return None
    closes = np.concatenate([[float(starting_cash)], daily.to_numpy()])
    returns = closes[1:] / closes[:-1] - 1.0
    sd = float(np.std(returns, ddof=1))
    if not math.isfinite(sd) or sd <= 1e-15:
        return None
    return float(np.mean(returns) / sd * math.sqrt(TRADING_DAYS_PER_YEAR))


def _iso_ns(ns: int) -> str:
    """int ns UTC as `_iso` writes a Timestamp (whole seconds, "Z")."""
    import datetime as dt

    seconds = ns // 1_000_000_000
    return (dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def local_dates(time_ns: np.ndarray, tz: str) -> np.ndarray:
    """The `tz`-local calendar date (datetime64[D]) of each int ns UTC time, without pandas (zoneinfo,
    read once per 15-minute bucket holding times)."""
    from zoneinfo import ZoneInfo

    from workstation.calendar import NS_PER_DAY, utc_offsets_ns

    ts = np.asarray(time_ns, dtype=np.int64)
    if not ts.size:
        return np.empty(0, dtype="datetime64[D]")
    offsets = utc_offsets_ns(ZoneInfo(tz), ts, max_buckets=10**9)
    assert offsets is not None
    return np.floor_divide(ts + offsets, NS_PER_DAY).astype("datetime64[D]")


def daily_last(time_ns: np.ndarray, values: np.ndarray, tz: str) -> np.ndarray:
    """The last non-NaN value of each `tz`-local date (NaN for a date with none), dates in order:
    `daily_equity`'s values (pandas' groupby(date).last())."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return np.empty(0)
    dates = local_dates(time_ns, tz).astype(np.int64)
    order = np.argsort(dates, kind="stable")
    dates, ordered = dates[order], values[order]
    starts = np.flatnonzero(np.concatenate(([True], dates[1:] != dates[:-1])))
    ends = np.append(starts[1:], len(dates))
    present = ~np.isnan(ordered)
    # the position of the last present value at or before each row, within the sorted rows
    last_present = np.maximum.accumulate(np.where(present, np.arange(len(ordered)), -1))[ends - 1]
    return np.where(last_present >= starts, ordered[np.maximum(last_present, 0)], np.nan)


def _sharpe(daily: np.ndarray, starting_cash: float) -> float | None:
    if len(daily) < 2:
        return None
    closes = np.concatenate([[float(starting_cash)], daily])
    returns = closes[1:] / closes[:-1] - 1.0
    sd = float(np.std(returns, ddof=1))
    if not math.isfinite(sd) or sd <= 1e-15:
        return None
    return float(np.mean(returns) / sd * math.sqrt(TRADING_DAYS_PER_YEAR))


def statistics(time_ns: np.ndarray, equity: np.ndarray, gross_exposure: np.ndarray | None, pnl: np.ndarray,
               quantity: np.ndarray, commission: np.ndarray | None, symbols: list[str], starting_cash: float,
               tz: str = "America/New_York") -> dict[str, Any]:
    """`compute_stats` from arrays, without pandas: the equity curve (time int ns UTC, equity, gross
    exposure or None) and the trades (pnl, signed quantity, commission or None, symbol), in the
    order the broker recorded them."""
    if starting_cash <= 0:
        raise ValueError(f"starting_cash must be positive, got {starting_cash}")
    time_ns = np.asarray(time_ns, dtype=np.int64)
    values = np.asarray(equity, dtype=np.float64)
    n_points = len(values)
    final_equity = float(values[-1]) if n_points else float(starting_cash)
    daily = daily_last(time_ns, values, tz)
    stats: dict[str, Any] = {
        "starting_cash": float(starting_cash),
        "final_equity": final_equity,
        "net_pnl": final_equity - float(starting_cash),
        "total_return_pct": (final_equity / float(starting_cash) - 1.0) * 100.0,
        "sharpe": _sharpe(daily, starting_cash),
        "sessions": int(len(daily)),
        "start_time": None,
        "end_time": None,
        "max_drawdown_pct": 0.0,
        "max_drawdown": 0.0,
        "max_drawdown_peak_time": None,
        "max_drawdown_trough_time": None,
        "exposure_pct": None,
    }
    if n_points:
        stats["start_time"] = _iso_ns(int(time_ns[0]))
        stats["end_time"] = _iso_ns(int(time_ns[-1]))
        peak = np.maximum.accumulate(np.concatenate([[float(starting_cash)], values]))[1:]
        drawdown = values - peak
        with np.errstate(divide="ignore", invalid="ignore"):
            drawdown_pct = np.where(peak > 0, drawdown / peak * 100.0, 0.0)
        trough = int(np.argmin(drawdown_pct))
        if drawdown_pct[trough] < 0:
            stats["max_drawdown_pct"] = float(drawdown_pct[trough])
            stats["max_drawdown"] = float(drawdown[trough])
            at_peak = np.flatnonzero(values[: trough + 1] == peak[trough])
            # The peak is the starting cash itself when no equity point reached it before the trough.
            stats["max_drawdown_peak_time"] = _iso_ns(int(time_ns[int(at_peak[-1])])) if len(at_peak) else None
            stats["max_drawdown_trough_time"] = _iso_ns(int(time_ns[trough]))
        if gross_exposure is not None:
            exposed = np.abs(np.asarray(gross_exposure, dtype=np.float64)) > 1e-12
            stats["exposure_pct"] = float(exposed.mean() * 100.0)
    trade_pnl = np.asarray(pnl, dtype=np.float64)
    stats.update(_trade_statistics(trade_pnl, np.asarray(quantity, dtype=np.float64),
                                   None if commission is None else np.asarray(commission, dtype=np.float64),
                                   symbols))
    # the net P&L split: closed trades, and the positions still open at the end (marked at the last
    # closes, their entry commissions paid), which the trade statistics do not count
    closed = float(np.where(np.isnan(trade_pnl), 0.0, trade_pnl).sum())       # NaN counts as 0 (pandas' sum)
    stats["closed_pnl"] = closed
    stats["open_exposure"] = (float(abs(np.asarray(gross_exposure, dtype=np.float64)[-1]))
                              if gross_exposure is not None and n_points else None)
    # nothing open at the end: exactly 0, not the rounding left between two sums of the same money
    stats["open_pnl"] = 0.0 if stats["open_exposure"] == 0.0 else stats["net_pnl"] - closed
    return {k: (_f(v) if isinstance(v, float | np.floating) else v) for k, v in stats.items()}


def _trade_statistics(pnl: np.ndarray, quantities: np.ndarray, commission: np.ndarray | None,
                      symbols: list[str]) -> dict[str, Any]:
    n = len(pnl)
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    gross_profit = float(wins.sum())
    gross_loss = float(losses.sum())
    out: dict[str, Any] = {
        "trades": n,
        "winning_trades": int(len(wins)),
        "losing_trades": int(len(losses)),
        "long_trades": int((quantities > 0).sum()),
        "short_trades": int((quantities < 0).sum()),
        "win_rate_pct": len(wins) / n * 100.0 if n else None,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": gross_profit / -gross_loss if len(losses) else None,
        "avg_trade_pnl": float(pnl.mean()) if n else None,
        "best_trade": float(pnl.max()) if n else None,
        "worst_trade": float(pnl.min()) if n else None,
        # pandas' Series.sum: NaN counts as 0
        "total_commission": float(np.where(np.isnan(commission), 0.0, commission).sum())
        if n and commission is not None else 0.0,
    }
    per_symbol: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[int]] = {}
    for k, symbol in enumerate(symbols):
        rows.setdefault(str(symbol), []).append(k)
    for symbol in sorted(rows):
        g = pnl[np.asarray(rows[symbol], dtype=np.int64)]
        per_symbol[symbol] = {"trades": int(len(g)), "pnl": float(g.sum()),
                              "win_rate_pct": float((g > 0).sum() / len(g) * 100.0)}
    out["per_symbol"] = per_symbol
    return out


def compute_stats(
    equity: pd.DataFrame, trades: pd.DataFrame, starting_cash: float, tz: str = "America/New_York"
) -> dict[str, Any]:
    """Statistics of a backtest as a JSON-friendly dict (floats, ints, ISO-8601 UTC strings, None).

    equity: columns time (UTC), equity, and gross_exposure (for exposure_pct); one row per bar time.
    trades: columns symbol, quantity (signed by side), pnl (net of commissions), commission.
    Keys: starting_cash, final_equity, net_pnl, total_return_pct, sharpe, sessions, start_time,
    end_time, max_drawdown_pct (<= 0), max_drawdown (currency, <= 0, same episode as the pct),
    max_drawdown_peak_time, max_drawdown_trough_time, exposure_pct (share of equity points with a
    non-zero gross exposure), trades, winning_trades, losing_trades, long_trades, short_trades,
    win_rate_pct, gross_profit, gross_loss (<= 0), profit_factor, avg_trade_pnl, best_trade,
    worst_trade, total_commission, per_symbol {symbol: {trades, pnl, win_rate_pct}} (closed trades),
    closed_pnl (the trades' P&L), open_pnl (net_pnl - closed_pnl: the positions still open at the end,
    marked at the last closes), open_exposure (the gross exposure at the last equity point; None
    without gross_exposure).
    Values that have no meaning for the data (no trades, one session...) are None.
    """
    if starting_cash <= 0:
        raise ValueError(f"starting_cash must be positive, got {starting_cash}")
    times = np.empty(0, dtype=np.int64)
    if len(equity):
        times = pd.DatetimeIndex(_utc_times(equity["time"].reset_index(drop=True))).as_unit("ns").asi8
    n = len(trades)
    return statistics(
        times, equity["equity"].to_numpy(dtype=np.float64),
        equity["gross_exposure"].to_numpy(dtype=np.float64) if "gross_exposure" in equity else None,
        trades["pnl"].astype(np.float64).to_numpy() if n else np.zeros(0),
        trades["quantity"].astype(np.float64).to_numpy() if n else np.zeros(0),
        trades["commission"].astype(np.float64).to_numpy() if n and "commission" in trades else None,
        [str(s) for s in trades["symbol"]] if n else [], starting_cash, tz)
