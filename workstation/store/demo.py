"""Deterministic synthetic bars for fictional symbols, so a fresh checkout has data to run on.

`generate_demo` writes 1m bars for the sessions of a window (default 2024-10-01 .. 2024-12-06: it
holds the DST change of 2024-11-03 and the early close of 2024-11-29) and daily bars for the year
before it plus the window's own days (aggregated from the 1m bars), enough for 52-week indicators.
Prices follow a geometric random walk with regimes of trend and mean reversion, a shared market
factor, per-symbol start price and volatility, and a $0.01 price grid; intraday volatility and
volume are U-shaped with an opening burst and a closing auction; about 0.2 % of symbol-minutes are
missing at random. Sessions come from the TimeManager (holidays, early closes, DST). The same seed
gives the same values and the same file bytes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager
from workstation.errors import DataError
from workstation.store.bar_store import BarStore

log = logging.getLogger(__name__)

DEFAULT_START = dt.date(2024, 10, 1)
DEFAULT_END = dt.date(2024, 12, 6)
BASE_SYMBOLS = ("ACME", "BOLT", "CYRX", "DYNA", "ECHO")
MISSING_RATE = 0.002
_NS_MIN = 60_000_000_000
_NAME_SEED = 20241001


@dataclass(frozen=True)
class DemoSummary:
    """What generate_demo wrote."""

    store_root: str
    symbols: list[str]
    first_date: dt.date
    last_date: dt.date
    sessions: int
    minute_bars: int
    missing_minutes: int
    history_start: dt.date
    daily_bars: int
    rows_new: int

    def render(self) -> str:
        return (
            f"Demo data in {self.store_root}: {len(self.symbols)} symbols ({', '.join(self.symbols[:8])}"
            f"{', ...' if len(self.symbols) > 8 else ''}); 1m bars for {self.sessions} sessions "
            f"{self.first_date} .. {self.last_date} ({self.minute_bars:,} bars, {self.missing_minutes:,} "
            f"missing minutes); daily bars from {self.history_start} ({self.daily_bars:,} bars); "
            f"{self.rows_new:,} bars new in the store"
        )


def demo_symbols(count: int) -> list[str]:
    """The first `count` fictional tickers: ACME, BOLT, CYRX, DYNA, ECHO, then generated 4-letter names."""
    if count <= len(BASE_SYMBOLS):
        return list(BASE_SYMBOLS[:count])
    consonants, vowels = "BCDFGKLMNPRSTVXZ", "AEIOUY"
    names = ["".join(p) for p in itertools.product(consonants, vowels, consonants, vowels + consonants)]
    order = np.random.default_rng(_NAME_SEED).permutation(len(names))
    extra = [names[i] for i in order if names[i] not in BASE_SYMBOLS]
    if count - len(BASE_SYMBOLS) > len(extra):
        raise ValueError(f"at most {len(BASE_SYMBOLS) + len(extra)} demo symbols can be generated")
    return list(BASE_SYMBOLS) + extra[: count - len(BASE_SYMBOLS)]


def _window_dates(tm: TimeManager, days: int | None, end_date: dt.date) -> list[dt.date]:
    if days is None:
        dates = tm.trading_dates(min(DEFAULT_START, end_date), end_date)
    else:
        if days <= 0:
            raise DataError(f"--days must be a positive number of sessions, got {days}")
        last = tm.trading_dates(end_date - dt.timedelta(days=14), end_date)[-1]
        dates = tm.trading_dates(tm.trading_days_back(last, days - 1), last)
    if not dates:
        raise DataError(f"no trading sessions end on or before {end_date}")
    return dates


def _u_shape(
    minutes: int, scale_open: float, tau_open: float, scale_close: float, tau_close: float
) -> np.ndarray:
    m = np.arange(minutes, dtype=np.float64)
    return 1.0 + scale_open * np.exp(-m / tau_open) + scale_close * np.exp(-(minutes - 1 - m) / tau_close)


def generate_demo(
    store_root: str | os.PathLike,
    symbols: int | Sequence[str] = 5,
    days: int | None = None,
    seed: int = 7,
    end_date: dt.date = DEFAULT_END,
    missing_rate: float = MISSING_RATE,
    exchange: str = "XNYS",
    time_manager: TimeManager | None = None,
) -> DemoSummary:
    """Write demo bars into the store at `store_root` (created when missing); bars already there are kept.

    `days` = number of 1m sessions ending on `end_date` (default: every session from 2024-10-01).
    """
    names = demo_symbols(symbols) if isinstance(symbols, int) else [s.upper() for s in symbols]
    if not names:
        raise DataError("demo data needs at least one symbol")
    store = BarStore(store_root, create=True, exchange=exchange, time_manager=time_manager)
    tm = store.time_manager
    window = _window_dates(tm, days, end_date)
    history_start = (pd.Timestamp(window[0]) - pd.DateOffset(years=1)).date()
    history = tm.trading_dates(history_start, window[0] - dt.timedelta(days=1))
    rng = np.random.default_rng(seed)
    n_sym = len(names)

    start_price = np.exp(rng.uniform(np.log(12.0), np.log(380.0), n_sym))
    annual_vol = rng.uniform(0.18, 0.55, n_sym)
    sigma_d = annual_vol / np.sqrt(252.0)
    market_rho = rng.uniform(0.25, 0.6, n_sym)
    minute_volume = np.exp(rng.uniform(np.log(2_000), np.log(60_000), n_sym))
    trade_size = rng.uniform(60, 180, n_sym)

    # ---------------------------------------------------------------- daily history
    h = len(history)
    log_close = np.log(start_price)
    anchor = log_close.copy()
    trend = rng.choice([-1.0, 1.0], n_sym)
    mean_rev = rng.random(n_sym) < 0.5
    hist = {k: np.empty((h, n_sym)) for k in ("open", "high", "low", "close", "volume")}
    market = rng.standard_normal(h)
    for d in range(h):
        switch = rng.random(n_sym) < 1 / 15
        mean_rev = np.where(switch, ~mean_rev, mean_rev)
        trend = np.where(switch & (rng.random(n_sym) < 0.5), -trend, trend)
        shock = market_rho * market[d] + np.sqrt(1 - market_rho**2) * rng.standard_normal(n_sym)
        drift = np.where(mean_rev, -0.12 * (log_close - anchor), trend * 0.2 * sigma_d)
        ret = drift + sigma_d * shock
        gap = 0.3 * sigma_d * rng.standard_normal(n_sym)
        o = np.round(np.exp(log_close + gap), 2)
        log_close = log_close + ret
        c = np.round(np.exp(log_close), 2)
        wick = np.abs(rng.standard_normal((2, n_sym))) * 0.4 * sigma_d
        hist["open"][d], hist["close"][d] = o, c
        hist["high"][d] = np.maximum(np.round(np.maximum(o, c) * np.exp(wick[0]), 2), np.maximum(o, c))
        hist["low"][d] = np.maximum(
            np.minimum(np.round(np.minimum(o, c) * np.exp(-wick[1]), 2), np.minimum(o, c)), 0.01
        )
        hist["volume"][d] = np.round(
            minute_volume * 390 * np.exp(0.3 * rng.standard_normal(n_sym)) * (1 + 0.3 * np.abs(shock))
        )
        anchor = 0.95 * anchor + 0.05 * log_close

    # ---------------------------------------------------------------- 1m window
    n_days = len(window)
    opens_ns, closes_ns = tm.session_bounds(np.array(window, dtype="datetime64[D]"))
    lengths = ((closes_ns - opens_ns) // _NS_MIN).astype(np.int64)
    width = int(lengths.max())
    valid = np.arange(width)[None, :] < lengths[:, None]  # (day, minute)
    vol_shape = np.zeros((n_days, width))
    volume_shape = np.zeros((n_days, width))
    for d, length in enumerate(lengths):
        u = _u_shape(int(length), 1.6, 18.0, 0.7, 22.0)
        vol_shape[d, :length] = u / np.sqrt(np.mean(u**2))
        v = _u_shape(int(length), 2.2, 14.0, 1.3, 18.0) * 0.55
        v[0] *= 6.0
        v[-1] *= 3.0
        volume_shape[d, :length] = v
    sigma_m = sigma_d[:, None, None] / np.sqrt(390.0) * vol_shape[None, :, :]  # (sym, day, minute)
    day_mean_rev = rng.random((n_sym, n_days)) < 0.5
    day_trend = rng.choice([-1.0, 1.0], (n_sym, n_days)) * rng.uniform(0.3, 1.2, (n_sym, n_days))
    kappa = np.where(day_mean_rev, 0.03, 0.0)
    drift = np.where(day_mean_rev, 0.0, day_trend * sigma_d[:, None] / lengths[None, :])
    mkt = rng.standard_normal((n_days, width))
    idio = rng.standard_normal((n_sym, n_days, width))
    rho = market_rho[:, None, None]
    shocks = rho * mkt[None] + np.sqrt(1 - rho**2) * idio
    path = np.zeros((n_sym, n_days, width))
    x = np.zeros((n_sym, n_days))
    for m in range(width):
        x = x * (1 - kappa) + drift + sigma_m[:, :, m] * shocks[:, :, m]
        path[:, :, m] = x
    last_idx = lengths - 1
    day_move = path[:, np.arange(n_days), last_idx]  # (sym, day)
    gaps = 0.3 * sigma_d[:, None] * rng.standard_normal((n_sym, n_days))
    log_open = np.log(hist["close"][-1]) if h else np.log(start_price)
    log_open = log_open[:, None] + np.cumsum(
        gaps + np.concatenate([np.zeros((n_sym, 1)), day_move[:, :-1]], axis=1), axis=1
    )
    closes = np.round(np.exp(log_open[:, :, None] + path), 2)
    day_open = np.round(np.exp(log_open), 2)
    opens = np.concatenate([day_open[:, :, None], closes[:, :, :-1]], axis=2)
    wick = np.abs(rng.standard_normal((2, n_sym, n_days, width))) * 0.35 * sigma_m
    highs = np.maximum(np.round(np.maximum(opens, closes) * np.exp(wick[0]), 2), np.maximum(opens, closes))
    lows = np.maximum(
        np.minimum(np.round(np.minimum(opens, closes) * np.exp(-wick[1]), 2), np.minimum(opens, closes)), 0.01
    )
    noise = np.exp(0.35 * rng.standard_normal((n_sym, n_days, width)))
    volumes = np.maximum(
        np.round(minute_volume[:, None, None] * volume_shape[None] * noise * (0.8 + 0.25 * np.abs(shocks))),
        1.0,
    )
    trades = np.maximum(np.round(volumes / trade_size[:, None, None]), 1.0)
    vwap = np.clip(np.round((highs + lows + 2 * closes) / 4, 4), lows, highs)
    missing = (rng.random((n_sym, n_days, width)) < missing_rate) & valid[None]
    present = valid[None] & ~missing

    ts = opens_ns[:, None] + np.arange(width, dtype=np.int64)[None, :] * _NS_MIN
    sym_idx, day_idx, minute_idx = np.nonzero(present)
    minute_frame = pd.DataFrame(
        {
            "symbol": np.asarray(names, dtype=object)[sym_idx],
            "timestamp": ts[day_idx, minute_idx],
            "open": opens[present],
            "high": highs[present],
            "low": lows[present],
            "close": closes[present],
            "volume": volumes[present],
            "trade_count": trades[present],
            "vwap": vwap[present],
        }
    )

    # ---------------------------------------------------------------- daily bars
    hist_opens, _ = tm.session_bounds(np.array(history, dtype="datetime64[D]"))
    hist_frame = pd.DataFrame(
        {
            "symbol": np.tile(np.asarray(names, dtype=object), h),
            "timestamp": np.repeat(hist_opens, n_sym),
            **{k: hist[k].reshape(-1) for k in ("open", "high", "low", "close", "volume")},
        }
    )
    hist_frame["vwap"] = np.clip(
        np.round((hist_frame["high"] + hist_frame["low"] + 2 * hist_frame["close"]) / 4, 4),
        hist_frame["low"],
        hist_frame["high"],
    )
    hist_frame["trade_count"] = np.round(hist_frame["volume"] / np.tile(trade_size, h))
    window_daily = _aggregate_daily(minute_frame, window, opens_ns)
    daily_frame = pd.concat([hist_frame, window_daily], ignore_index=True)

    written_1m = store.write_bars(minute_frame, "1m")
    written_1d = store.write_bars(daily_frame, "1d")
    summary = DemoSummary(
        store_root=str(store.root),
        symbols=names,
        first_date=window[0],
        last_date=window[-1],
        sessions=n_days,
        minute_bars=len(minute_frame),
        missing_minutes=int(missing.sum()),
        history_start=history[0] if history else window[0],
        daily_bars=len(daily_frame),
        rows_new=written_1m.rows_new + written_1d.rows_new,
    )
    log.info("%s", summary.render())
    return summary


def _aggregate_daily(minutes: pd.DataFrame, window: list[dt.date], opens_ns: np.ndarray) -> pd.DataFrame:
    """Daily bars of the window's sessions built from its 1m bars (stamped with the session open)."""
    day_of = np.searchsorted(opens_ns, minutes["timestamp"].to_numpy(), side="right") - 1
    frame = minutes.assign(day=day_of, pv=minutes["vwap"] * minutes["volume"])
    agg = (
        frame.groupby(["day", "symbol"], sort=True)
        .agg(
            open=("open", "first"),
            high=("high", "max"),
            low=("low", "min"),
            close=("close", "last"),
            volume=("volume", "sum"),
            trade_count=("trade_count", "sum"),
            pv=("pv", "sum"),
        )
        .reset_index()
    )
    agg["vwap"] = np.clip(np.round(agg["pv"] / agg["volume"], 4), agg["low"], agg["high"])
    agg["timestamp"] = opens_ns[agg["day"].to_numpy()]
    return agg[["symbol", "timestamp", "open", "high", "low", "close", "volume", "trade_count", "vwap"]]


def ensure_demo_data(store_root: str | os.PathLike) -> bool:
    """Create the default demo data at `store_root` unless it already holds 1m bars; True if created."""
    root = os.fspath(store_root)
    if os.path.isfile(os.path.join(root, "store.json")):
        if BarStore(root).dates("1m"):
            return False
    generate_demo(root)
    return True
