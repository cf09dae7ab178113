"""Thin, sub-penny, gapped 1m bars and exact-decimal references for whole-run tests.

`make_thin_bars` generates what thin ETF data looks like: 60-90 % of the minutes missing, prices on
a grid of 4-6 decimals (some symbols mixing penny and sub-penny prices), long flat stretches (so
that averages tie exactly) and one-unit moves (so that they almost tie). Timestamps are bar starts
(UTC). The references here compute independently of the engine: pandas builds the derived bars,
`fractions.Fraction` decides the SMA crosses exactly on the decimal prices.
"""

from __future__ import annotations

import bisect
from fractions import Fraction

import numpy as np
import pandas as pd

from workstation.calendar import TimeManager

NS_PER_MINUTE = 60_000_000_000


def make_thin_bars(symbols: dict[str, int], start: str, end: str, seed: int, keep: tuple[float, float] = (0.1, 0.4),
                   exchange: str = "XNYS", short_last_session: bool = True) -> pd.DataFrame:
    """1m bars of `symbols` (name -> price decimals) over the sessions of [start, end].

    Each symbol keeps a fraction of the minutes drawn per session from `keep` (0.1-0.4: 60-90 %
    missing). Closes are unchanged 45 % of the time, else move by 1-3 units of 10**-decimals
    (sub-penny) or by 1-3 cents landing on a cent, so about half of them are sub-penny; the first
    symbol is penny-priced every other session. With `short_last_session` the first session of each
    symbol stops two hours before the close."""
    tm = TimeManager(exchange)
    rng = np.random.default_rng(seed)
    frames = []
    for k, (sym, decimals) in enumerate(symbols.items()):
        unit = 10 ** decimals
        price = int(rng.integers(20, 80)) * unit + int(rng.integers(0, unit))
        for j, session in enumerate(tm.sessions(start, end)):
            minutes = session.slot_starts(NS_PER_MINUTE)
            if short_last_session and j == 0:
                minutes = minutes[minutes < session.close_ns - 120 * NS_PER_MINUTE]
            share = rng.uniform(*keep)
            ts = np.sort(rng.choice(minutes, size=max(2, int(len(minutes) * share)), replace=False))
            n = len(ts)
            penny = unit // 100
            # unchanged 45 %; else a move of 1-3 units (sub-penny), or of 1-3 cents landing on a cent
            kind = rng.random(n)
            sign = rng.choice([-1, 1], n)
            close = np.empty(n, dtype=np.int64)
            for i in range(n):
                if kind[i] < 0.45:
                    pass
                elif kind[i] < 0.75:
                    price += int(sign[i] * rng.integers(1, 4))
                else:
                    price = (price // penny + int(sign[i] * rng.integers(1, 4))) * penny
                price = max(price, unit)
                close[i] = price
            open_ = np.concatenate(([close[0]], close[:-1])) + np.where(rng.random(n) < 0.5, 0,
                                                                      rng.integers(-2, 3, n))
            open_ = np.maximum(open_, unit)
            high = np.maximum(open_, close) + rng.integers(0, 3, n)
            low = np.maximum(np.minimum(open_, close) - rng.integers(0, 3, n), 1)
            if k == 0 and j % 2 == 0:
                # penny-priced sessions in a sub-penny symbol: the grid is the finest one seen
                close, open_, high, low = ((x // penny) * penny for x in (close, open_, high, low))
                high = np.maximum(high, np.maximum(open_, close))
                low = np.minimum(low, np.minimum(open_, close))
                low = np.maximum(low, penny)
            frames.append(pd.DataFrame({
                "symbol": sym,
                "timestamp": pd.to_datetime(ts, utc=True),
                "open": open_ / unit, "high": high / unit, "low": low / unit, "close": close / unit,
                "volume": rng.integers(1, 5000, n).astype(float),
            }))
    df = pd.concat(frames, ignore_index=True)
    return df.sort_values(["timestamp", "symbol"], kind="mergesort").reset_index(drop=True)


def exact(price: float) -> Fraction:
    """The decimal price a float stands for (its shortest repr): 17.921 -> 17921/1000."""
    return Fraction(repr(float(price)))


def resample_session_bars(minute: pd.DataFrame, interval: str, tm: TimeManager) -> pd.DataFrame:
    """pandas resampling of one symbol's 1m bars into `interval` bars anchored at each session's open
    (and at the end of a lunch break) and cut at the close; columns timestamp (bar start, int ns),
    end (int ns), open, high, low, close, volume."""
    out = []
    ts = pd.to_datetime(minute["timestamp"], utc=True)
    days = ts.dt.tz_convert(tm.tz).dt.date
    length = pd.Timedelta(interval.replace("m", "min"))
    for day, g in minute.groupby(days.to_numpy()):
        sess = tm.session(day)
        for seg_start, seg_end in sess.segments:
            s = g.set_index(pd.to_datetime(g["timestamp"], utc=True))
            s = s[(s.index >= pd.Timestamp(seg_start, tz="UTC")) & (s.index < pd.Timestamp(seg_end, tz="UTC"))]
            if not len(s):
                continue
            r = s.resample(length, origin=pd.Timestamp(seg_start, tz="UTC"), closed="left", label="left").agg(
                {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}).dropna(subset=["open"])
            r = r.reset_index().rename(columns={"index": "timestamp"})
            r["timestamp"] = r["timestamp"].astype("int64")
            r["end"] = np.minimum(r["timestamp"] + length.value, seg_end)
            out.append(r)
    return pd.concat(out, ignore_index=True)


def delivery_times(bars: pd.DataFrame, all_minute_ts: np.ndarray, tm: TimeManager) -> np.ndarray:
    """The clock (int ns) at which each derived bar reaches the strategies: the end of the first
    1m bar time of the run (any symbol) that reaches the bar's end, else its session's close."""
    times = np.unique(all_minute_ts)
    out = np.empty(len(bars), dtype=np.int64)
    for k, (start, end) in enumerate(zip(bars["timestamp"].to_numpy(), bars["end"].to_numpy(), strict=True)):
        sess = tm.session_of_time(int(start))
        j = np.searchsorted(times, end - NS_PER_MINUTE, side="left")
        out[k] = times[j] + NS_PER_MINUTE if j < len(times) and times[j] < sess.close_ns else sess.close_ns
    return out


def sma_cross_reference(decisions: dict[str, tuple[np.ndarray, list]], fills: dict[str, tuple[np.ndarray, np.ndarray]],
                        fast: int, slow: int, quantity: float) -> list[dict]:
    """Exact-decimal SMA(fast/slow) crossover: per symbol, on its own decision bars (clock at
    delivery, close) in order; D = SMA_fast − SMA_slow as a Fraction; cross up D_prev <= 0 < D when
    flat -> buy, cross down D_prev >= 0 > D when long -> sell; a market order fills at the open of
    the symbol's first 1m bar starting at or after the decision's clock (`fills`: its 1m bar starts
    and opens); a fill at a bar time comes before the decisions of that bar time."""
    trades = []
    for sym, (times, closes) in decisions.items():
        fill_ts, fill_open = fills[sym]
        window: list[Fraction] = []
        d_prev = None
        position = 0
        pending = None                       # (side, decided at)
        entry = None
        for t, close in zip(times.tolist(), closes, strict=True):
            if pending is not None:
                j = bisect.bisect_left(fill_ts, pending[1])
                if j < len(fill_ts) and fill_ts[j] < t:
                    position, entry = _fill(sym, pending[0], int(fill_ts[j]), float(fill_open[j]), entry, trades,
                                            quantity)
                    pending = None
            window.append(close)
            if len(window) > slow:
                window.pop(0)
            if len(window) < slow:
                continue
            d = sum(window[-fast:]) / fast - sum(window) / slow
            if d_prev is not None and pending is None:
                if d_prev <= 0 < d and position == 0:
                    pending = (1, t)
                elif d_prev >= 0 > d and position == quantity:
                    pending = (-1, t)
            d_prev = d
        if pending is not None:
            j = bisect.bisect_left(fill_ts, pending[1])
            if j < len(fill_ts):
                _fill(sym, pending[0], int(fill_ts[j]), float(fill_open[j]), entry, trades, quantity)
    return sorted(trades, key=lambda tr: (tr["symbol"], tr["entry_time"]))


def _fill(sym, side, ts, price, entry, trades, quantity):
    price = round(price, 9)
    if side > 0:
        return quantity, (ts, price)
    trades.append({"symbol": sym, "entry_time": entry[0], "entry_price": entry[1], "exit_time": ts,
                   "exit_price": price})
    return 0, None


def engine_trade_list(trades) -> list[dict]:
    """The engine's trades in the reference's form (int ns times; prices to 9 decimals, as the
    broker's average of one fill, value / quantity, may differ from the price in the last bit)."""
    out = [{"symbol": t.symbol, "entry_time": int(t.entry_time), "entry_price": round(float(t.entry_price), 9),
            "exit_time": int(t.exit_time), "exit_price": round(float(t.exit_price), 9)} for t in trades]
    return sorted(out, key=lambda tr: (tr["symbol"], tr["entry_time"]))


def rsi_reversion_reference(bars: pd.DataFrame, period: int, oversold: float, overbought: float,
                            exit_level: float, quantity: float, allow_short: bool) -> list[dict]:
    """Exact-decimal RSI reversion on 1m bars: Wilder averages of the decimal close changes as
    Fractions (seeded with the mean of the first `period` changes), RSI = 100·G/(G+L) exactly (50
    when G = L = 0); flat: buy below `oversold`, short above `overbought` (if allowed); long: close
    above `exit_level`; short: close below it. Orders fill at the symbol's next bar open."""
    trades = []
    levels = {k: Fraction(repr(float(v))) for k, v in
              (("oversold", oversold), ("overbought", overbought), ("exit", exit_level))}
    for sym, g in bars.groupby("symbol", sort=True):
        ts = g["timestamp"].astype("int64").to_numpy()
        opens = g["open"].to_numpy()
        closes = [exact(c) for c in g["close"]]
        gains: list[Fraction] = []
        losses: list[Fraction] = []
        avg_gain = avg_loss = None
        position, pending, entry = 0.0, 0.0, None
        for i in range(len(closes)):
            if pending:
                price = round(float(opens[i]), 9)
                if position == 0:
                    position, entry = pending, (int(ts[i]), price)
                else:
                    trades.append({"symbol": sym, "side": 1 if position > 0 else -1, "entry_time": entry[0],
                                   "entry_price": entry[1], "exit_time": int(ts[i]), "exit_price": price})
                    position, entry = 0.0, None
                pending = 0.0
            if i == 0:
                continue
            change = closes[i] - closes[i - 1]
            gain, loss = max(change, Fraction(0)), max(-change, Fraction(0))
            if i <= period:
                gains.append(gain)
                losses.append(loss)
                if i < period:
                    continue
                avg_gain, avg_loss = sum(gains) / period, sum(losses) / period
            else:
                avg_gain = (avg_gain * (period - 1) + gain) / period
                avg_loss = (avg_loss * (period - 1) + loss) / period
            rsi = Fraction(50) if avg_gain == avg_loss == 0 else 100 * avg_gain / (avg_gain + avg_loss)
            if position == 0:
                if rsi < levels["oversold"]:
                    pending = quantity
                elif allow_short and rsi > levels["overbought"]:
                    pending = -quantity
            elif position > 0 and rsi > levels["exit"]:
                pending = -position
            elif position < 0 and rsi < levels["exit"]:
                pending = -position
    return sorted(trades, key=lambda tr: (tr["symbol"], tr["entry_time"]))
