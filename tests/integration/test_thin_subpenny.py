"""Sub-penny, thin, gapped data: the built-in SMA crossover gives exactly the trades of an
exact-decimal reference loop (fractions.Fraction) and of backtrader, trade by trade, on 1m and on
5m bars (5m bars built by pandas, not by the engine), in both threading modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.runhelpers import crossover_config, run_to_end, store_from_frame
from tests.integration.thin_data import (
    NS_PER_MINUTE,
    delivery_times,
    engine_trade_list,
    exact,
    make_thin_bars,
    resample_session_bars,
    rsi_reversion_reference,
    sma_cross_reference,
)
from workstation.calendar import TimeManager

SYMBOLS = {"THNA": 4, "THNB": 5, "THNC": 6}
START, END = "2024-03-04", "2024-03-22"          # three weeks with the DST change of 2024-03-10


@pytest.fixture(scope="module")
def thin_bars() -> pd.DataFrame:
    df = make_thin_bars(SYMBOLS, START, END, seed=14)
    return df


@pytest.fixture(scope="module")
def thin_store(thin_bars, tmp_path_factory):
    return store_from_frame(thin_bars, tmp_path_factory.mktemp("thin") / "store")


def test_generated_data_is_thin_and_sub_penny(thin_bars):
    tm = TimeManager()
    minutes = sum(s.minutes for s in tm.sessions(START, END))
    for sym, decimals in SYMBOLS.items():
        g = thin_bars[thin_bars["symbol"] == sym]
        assert 0.6 <= 1 - len(g) / minutes <= 0.9, sym
        cents = np.round(g["close"] * 100)
        sub_penny = np.abs(g["close"] * 100 - cents) > 1e-6
        assert 0.2 < sub_penny.mean() < 0.8, sym
        assert max(len(repr(x).split(".")[1]) for x in g["close"]) == decimals
        flat = (g["close"].diff() == 0).mean()
        assert flat > 0.3, sym


def _reference(bars: pd.DataFrame, interval: str) -> list[dict]:
    tm = TimeManager()
    decisions, fills = {}, {}
    all_ts = bars["timestamp"].astype("int64").to_numpy()
    for sym, g in bars.groupby("symbol", sort=True):
        ts = g["timestamp"].astype("int64").to_numpy()
        fills[sym] = (ts, g["open"].to_numpy())
        if interval == "1m":
            decisions[sym] = (ts + NS_PER_MINUTE, [exact(c) for c in g["close"]])
        else:
            derived = resample_session_bars(g, interval, tm)
            decisions[sym] = (delivery_times(derived, all_ts, tm), [exact(c) for c in derived["close"]])
    return sma_cross_reference(decisions, fills, 5, 20, 100.0)


def _engine(store, interval: str, stage_threads: bool):
    cfg = crossover_config(list(SYMBOLS), START, END, derived=["5m"] if interval != "1m" else [])
    cfg["strategies"][0]["interval"] = interval
    cfg["backtest"]["stage_threads"] = stage_threads
    system = run_to_end(cfg, store)
    return engine_trade_list(system.broker.trades)


@pytest.mark.parametrize(("interval", "stage_threads"), [("1m", True), ("5m", True), ("5m", False)])
def test_crossover_equals_exact_decimal_reference(thin_bars, thin_store, interval, stage_threads):
    expected = _reference(thin_bars, interval)
    ours = _engine(thin_store, interval, stage_threads)
    assert len(expected) > (80 if interval == "1m" else 10)
    for k, (a, b) in enumerate(zip(ours, expected, strict=False)):
        assert a == b, f"trade {k} differs: engine {a}, reference {b}"
    assert len(ours) == len(expected)


def _backtrader(bars: pd.DataFrame, interval: str) -> list[dict]:
    """backtrader: its own SMAs, market orders and fills; the cross decided on its SMA values made
    exact on the data's 10**-6 grid. On 5m, the pandas 5m bars are a second feed per symbol, stamped
    at their delivery time; orders go to the symbol's 1m feed (they fill at its next bar's open)."""
    import backtrader as bt

    tm = TimeManager()
    all_ts = bars["timestamp"].astype("int64").to_numpy()
    epoch = bt.date2num(pd.Timestamp("1970-01-01").to_pydatetime())

    def feed(frame: pd.DataFrame, times: np.ndarray):
        g = frame[["open", "high", "low", "close", "volume"]].copy()
        g.index = pd.to_datetime(times).tz_localize(None) if getattr(times, "dtype", None) is not None \
            and times.dtype.kind == "M" else pd.to_datetime(times, unit="ns")
        return bt.feeds.PandasData(dataname=g, datetime=None, openinterest=None,
                                   timeframe=bt.TimeFrame.Minutes, compression=1)

    class Cross(bt.Strategy):
        params = (("pairs", None),)

        def __init__(self):
            self.fast = {k: bt.ind.SMA(self.datas[k].close, period=5) for _, k in self.p.pairs}
            self.slow = {k: bt.ind.SMA(self.datas[k].close, period=20) for _, k in self.p.pairs}
            self.seen = {k: 0 for _, k in self.p.pairs}
            self.dprev = {k: None for _, k in self.p.pairs}
            self.entries, self.trades = {}, []

        def prenext(self):
            self.next()

        def next(self):
            for trade_k, k in self.p.pairs:
                d = self.datas[k]
                if len(d) == self.seen[k]:
                    continue
                self.seen[k] = len(d)
                if len(d) < 20:
                    continue
                dd = round(20 * 10**6 * (self.fast[k][0] - self.slow[k][0]))
                dp, self.dprev[k] = self.dprev[k], dd
                if dp is None:
                    continue
                target = self.datas[trade_k]
                pos = self.getposition(target).size
                if dp <= 0 < dd and pos == 0:
                    self.buy(data=target, size=100)
                elif dp >= 0 > dd and pos == 100:
                    self.sell(data=target, size=100)

        def notify_order(self, order):
            if order.status != order.Completed:
                return
            sym = order.data._name
            t_ns = int(round((order.executed.dt - epoch) * 86400.0)) * 10**9
            price = round(order.executed.price, 9)
            if order.isbuy():
                self.entries[sym] = (t_ns, price)
            else:
                et, ep = self.entries.pop(sym)
                self.trades.append({"symbol": sym, "entry_time": et, "entry_price": ep, "exit_time": t_ns,
                                    "exit_price": price})

    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(1e12)
    cerebro.broker.setcommission(commission=0.0)
    pairs = []
    groups = list(bars.groupby("symbol", sort=True))
    for sym, g in groups:
        cerebro.adddata(feed(g, g["timestamp"].astype("int64").to_numpy()), name=sym)
    for k, (sym, g) in enumerate(groups):
        if interval == "1m":
            pairs.append((k, k))
            continue
        derived = resample_session_bars(g, interval, tm)
        times = delivery_times(derived, all_ts, tm) - NS_PER_MINUTE      # stamped at the bar time
        # two bars delivered at one bar time: a second apart, in order, before the next minute
        times = times + pd.Series(times).groupby(times).cumcount().to_numpy() * 1_000_000_000
        assert (np.diff(times) > 0).all()
        cerebro.adddata(feed(derived, times), name=f"{sym}.{interval}")
        pairs.append((k, len(groups) + k))
    cerebro.addstrategy(Cross, pairs=pairs)
    trades = cerebro.run()[0].trades
    return sorted(trades, key=lambda tr: (tr["symbol"], tr["entry_time"]))


@pytest.mark.parametrize("interval", ["1m", "5m"])
def test_crossover_equals_backtrader(thin_bars, thin_store, interval):
    ours = _engine(thin_store, interval, True)
    theirs = _backtrader(thin_bars, interval)
    assert len(theirs) > 25
    for k, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        assert a == b, f"trade {k} differs: engine {a}, backtrader {b}"
    assert len(ours) == len(theirs)


def test_a_cent_grid_scale_would_miss_sub_penny_crosses(thin_bars):
    """The data is such that deciding on the cent grid (the old scale) differs from exact decimals."""
    differ = 0
    for _, g in thin_bars.groupby("symbol"):
        c = g["close"].to_numpy()
        f5 = pd.Series(c).rolling(5).mean().to_numpy()[19:]
        f20 = pd.Series(c).rolling(20).mean().to_numpy()[19:]
        exact_d = [np.sign(sum(map(exact, c[i + 15:i + 20])) / 5 - sum(map(exact, c[i:i + 20])) / 20)
                   for i in range(len(c) - 19)]
        cents = np.sign(np.rint(2000 * (f5 - f20)))
        differ += int((cents != np.array(exact_d, dtype=float)).sum())
    assert differ > 20


def test_rsi_reversion_equals_exact_decimal_reference(thin_bars, thin_store):
    """RSI levels (exit at exactly 50 included: balanced moves and flat stretches are common here)
    decided as an exact-rational Wilder RSI decides them."""
    params = {"period": 6, "oversold": 30, "overbought": 70, "exit_level": 50, "quantity": 100,
              "allow_short": True}
    cfg = crossover_config(list(SYMBOLS), START, END)
    cfg["strategies"] = [{"name": "rsi", "class_path": "rsi_reversion", "params": params}]
    cfg["execution"]["allow_short"] = True      # the account must allow the strategy's shorts
    system = run_to_end(cfg, thin_store)
    ours = [dict(tr, side=1 if t.quantity > 0 else -1)
            for tr, t in zip(engine_trade_list(system.broker.trades),
                             sorted(system.broker.trades, key=lambda t: (t.symbol, t.entry_time)), strict=True)]
    expected = rsi_reversion_reference(thin_bars, **params)
    assert len(expected) > 100
    for k, (a, b) in enumerate(zip(ours, expected, strict=False)):
        assert a == b, f"trade {k} differs: engine {a}, reference {b}"
    assert len(ours) == len(expected)
