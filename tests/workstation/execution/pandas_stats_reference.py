"""The pandas implementation of the backtest statistics that workstation.execution.stats replaced
(kept unchanged as the tests' independent expectation: the numpy `statistics` must give the same
numbers bit for bit).

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
from typing import Any

import numpy as np
import pandas as pd

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


def _trade_stats(trades: pd.DataFrame) -> dict[str, Any]:
    pnl = trades["pnl"].astype(np.float64).to_numpy() if len(trades) else np.zeros(0)
    n = len(pnl)
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    gross_profit = float(wins.sum())
    gross_loss = float(losses.sum())
    quantities = trades["quantity"].astype(np.float64).to_numpy() if n else np.zeros(0)
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
        "total_commission": float(trades["commission"].astype(np.float64).sum())
        if n and "commission" in trades
        else 0.0,
    }
    per_symbol: dict[str, dict[str, Any]] = {}
    if n:
        for symbol, group in trades.groupby(trades["symbol"].astype(str), sort=True):
            g = group["pnl"].astype(np.float64).to_numpy()
            per_symbol[str(symbol)] = {
                "trades": int(len(g)),
                "pnl": float(g.sum()),
                "win_rate_pct": float((g > 0).sum() / len(g) * 100.0),
            }
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
    worst_trade, total_commission, per_symbol {symbol: {trades, pnl, win_rate_pct}}.
    Values that have no meaning for the data (no trades, one session...) are None.
    """
    if starting_cash <= 0:
        raise ValueError(f"starting_cash must be positive, got {starting_cash}")
    equity = equity.reset_index(drop=True)
    n_points = len(equity)
    final_equity = float(equity["equity"].iloc[-1]) if n_points else float(starting_cash)
    stats: dict[str, Any] = {
        "starting_cash": float(starting_cash),
        "final_equity": final_equity,
        "net_pnl": final_equity - float(starting_cash),
        "total_return_pct": (final_equity / float(starting_cash) - 1.0) * 100.0,
        "sharpe": sharpe_ratio(equity, starting_cash, tz),
        "sessions": int(len(daily_equity(equity, tz))),
        "start_time": None,
        "end_time": None,
        "max_drawdown_pct": 0.0,
        "max_drawdown": 0.0,
        "max_drawdown_peak_time": None,
        "max_drawdown_trough_time": None,
        "exposure_pct": None,
    }
    if n_points:
        times = _utc_times(equity["time"])
        stats["start_time"] = _iso(times.iloc[0])
        stats["end_time"] = _iso(times.iloc[-1])
        dd = drawdown_series(equity, starting_cash)
        trough = int(np.argmin(dd["drawdown_pct"].to_numpy()))
        if dd["drawdown_pct"].iloc[trough] < 0:
            stats["max_drawdown_pct"] = float(dd["drawdown_pct"].iloc[trough])
            stats["max_drawdown"] = float(dd["drawdown"].iloc[trough])
            peak_value = dd["peak"].iloc[trough]
            values = equity["equity"].to_numpy(dtype=np.float64)[: trough + 1]
            at_peak = np.flatnonzero(values == peak_value)
            # The peak is the starting cash itself when no equity point reached it before the trough.
            stats["max_drawdown_peak_time"] = _iso(times.iloc[int(at_peak[-1])]) if len(at_peak) else None
            stats["max_drawdown_trough_time"] = _iso(times.iloc[trough])
        if "gross_exposure" in equity:
            exposed = np.abs(equity["gross_exposure"].to_numpy(dtype=np.float64)) > 1e-12
            stats["exposure_pct"] = float(exposed.mean() * 100.0)
    stats.update(_trade_stats(trades))
    closed = float(trades["pnl"].astype(np.float64).sum()) if len(trades) else 0.0
    stats["closed_pnl"] = closed
    stats["open_exposure"] = (abs(float(equity["gross_exposure"].iloc[-1]))
                              if "gross_exposure" in equity and n_points else None)
    stats["open_pnl"] = 0.0 if stats["open_exposure"] == 0.0 else stats["net_pnl"] - closed
    return {k: (_f(v) if isinstance(v, float | np.floating) else v) for k, v in stats.items()}
