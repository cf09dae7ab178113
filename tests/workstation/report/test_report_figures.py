"""The report's figures against independent computations (row loops, zoneinfo, pandas resampling,
brute-force counting) and the SVG geometry against the axis it draws."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from workstation.report import figures
from workstation.report.svg import Series, line_chart, nice_ticks, thin
from workstation.runs import load_run

NY = ZoneInfo("America/New_York")


def test_daily_returns_equal_a_row_by_row_computation(engine_run):
    res = load_run(engine_run)
    cash = res.starting_cash
    got = figures.daily_returns(res.equity, cash, "America/New_York")
    last: dict[dt.date, float] = {}
    for t, e in zip(res.equity["time"], res.equity["equity"], strict=True):
        last[t.to_pydatetime().astimezone(NY).date()] = float(e)
    days = sorted(last)
    assert list(got["date"]) == days and len(days) == res.stats["sessions"] == 6
    previous = cash
    for day, ret, pnl in zip(days, got["return_pct"], got["pnl"], strict=True):
        assert ret == pytest.approx((last[day] / previous - 1) * 100, rel=1e-12)
        assert pnl == pytest.approx(last[day] - previous)
        previous = last[day]


def test_returns_after_a_day_at_or_below_zero_equity_are_undefined():
    t = pd.to_datetime(["2024-03-04 15:00", "2024-03-05 15:00", "2024-03-06 15:00", "2024-03-07 15:00"], utc=True)
    equity = pd.DataFrame({"time": t, "equity": [500.0, -100.0, 50.0, 60.0]})
    got = figures.daily_returns(equity, 1000.0, "America/New_York")["return_pct"].to_numpy()
    assert got[0] == pytest.approx(-50.0) and got[1] == pytest.approx(-120.0)
    assert np.isnan(got[2]) and got[3] == pytest.approx(20.0)


def test_monthly_and_yearly_returns_equal_pandas_resampling():
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2023-11-20", "2024-02-09")
    equity = 50_000 * np.cumprod(1 + rng.normal(0, 0.01, len(days)))
    daily = pd.DataFrame({"date": [d.date() for d in days], "equity": equity})
    got = figures.monthly_returns(daily, 50_000)
    series = pd.Series(equity, index=days)
    month_end = series.resample("ME").last()
    expected = month_end / pd.concat([pd.Series([50_000.0]), month_end.iloc[:-1]]).to_numpy() - 1
    assert list(zip(got["year"], got["month"], strict=True)) == [(d.year, d.month) for d in month_end.index]
    np.testing.assert_allclose(got["return_pct"].to_numpy(), expected.to_numpy() * 100, rtol=1e-12)
    yearly = figures.yearly_returns(got, 50_000)
    year_end = series.resample("YE").last()
    np.testing.assert_allclose(yearly["return_pct"].to_numpy(),
                               (year_end / np.r_[50_000.0, year_end.to_numpy()[:-1]] - 1).to_numpy() * 100)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pnl_histogram_counts_by_brute_force_and_splits_at_zero(seed):
    rng = np.random.default_rng(seed)
    pnl = np.round(rng.normal(-5, 60, 400), 2)
    pnl[:3] = [0.0, -0.01, 0.01]
    hist = figures.pnl_histogram(pnl)
    counts, edges = hist.counts, hist.edges
    assert not hist.open_low and not hist.open_high
    assert counts.sum() == len(pnl)
    assert 0.0 in np.round(edges, 9), "0 must be a bin edge so wins and losses never share a bin"
    width = np.diff(edges)
    assert np.allclose(width, width[0])
    mantissa = width[0] / 10 ** np.floor(np.log10(width[0]))
    assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5))
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        last = i == len(counts) - 1
        expected = sum(1 for p in pnl if lo <= p < hi or (last and p == hi))
        assert counts[i] == expected


def test_a_few_outliers_go_to_open_outer_bins():
    rng = np.random.default_rng(4)
    pnl = np.r_[rng.normal(0, 10, 500), [-5_000.0, 9_000.0]]
    hist = figures.pnl_histogram(pnl)
    assert hist.open_low and hist.open_high and hist.counts.sum() == len(pnl)
    assert hist.edges[0] > -100 and hist.edges[-1] < 100  # the bins describe the bulk of the trades
    assert hist.counts[0] == sum(p < hist.edges[1] for p in pnl)
    assert hist.counts[-1] == sum(p >= hist.edges[-2] for p in pnl)
    assert 0.0 in np.round(hist.edges, 9)


def test_group_table_equals_a_loop_over_trades(engine_run):
    trades = load_run(engine_run).trades
    got = figures.group_table(trades, "symbol").set_index("symbol")
    for symbol in set(trades["symbol"]):
        rows = [r for r in trades.itertuples() if r.symbol == symbol]
        pnl = [r.pnl for r in rows]
        g = got.loc[symbol]
        assert g["trades"] == len(rows)
        assert g["net_pnl"] == pytest.approx(sum(pnl))
        assert g["win_rate_pct"] == pytest.approx(100 * sum(p > 0 for p in pnl) / len(rows))
        assert g["gross_loss"] == pytest.approx(sum(p for p in pnl if p < 0))
        assert g["worst"] == min(pnl) and g["best"] == max(pnl)
        assert g["commission"] == pytest.approx(sum(r.commission for r in rows))
    assert list(got["net_pnl"]) == sorted(got["net_pnl"], reverse=True)


def test_coverage_counts_the_bars_the_run_saw(engine_run):
    """Bars present per symbol (quality table) = 1m bars of that symbol in the run's bars.parquet, and
    expected = 390 a day except 210 on the early close of 2024-11-29."""
    res = load_run(engine_run)
    cov = figures.coverage_by_symbol(res.quality, "1m").set_index("symbol")
    bars = res.bars[res.bars["interval"] == "1m"]
    for symbol, count in bars.groupby("symbol").size().items():
        assert cov.loc[symbol, "present"] == count
        assert cov.loc[symbol, "expected"] == 5 * 390 + 210
        assert cov.loc[symbol, "missing"] == cov.loc[symbol, "expected"] - count
    matrix = figures.coverage_matrix(res.quality, "1m")
    assert matrix.shape == (6, 3)
    assert matrix.loc[dt.date(2024, 11, 29)].notna().all()


def test_thinning_keeps_each_pixels_extremes_and_the_ends():
    rng = np.random.default_rng(9)
    y = np.cumsum(rng.normal(0, 1, 50_000))
    y[12_345] = y.max() + 50
    y[33_333] = y.min() - 50
    x = np.arange(len(y), dtype=float)
    tx, ty = thin(x, y, 800)
    assert len(tx) <= 800 * 4 and np.all(np.diff(tx) > 0)
    assert tx[0] == 0 and tx[-1] == len(y) - 1
    assert 12_345 in tx and 33_333 in tx
    bucket = np.arange(len(y)) * 800 // len(y)  # point i falls in bucket i * buckets // n
    for b in range(0, 800, 97):  # every bucket's extremes survive
        assert y[bucket == b].max() in ty and y[bucket == b].min() in ty


def test_a_line_is_drawn_where_its_axis_says():
    svg = line_chart([Series("s", np.array([0.0, 1.0, 2.0]), np.array([0.0, 37.0, 100.0]))], height=300,
                     y_format=lambda v: f"{v:g}")
    ticks = {float(m.group(2)): float(m.group(1)) - 3.5
             for m in re.finditer(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end"[^>]*>([-\d.]+)</text>', svg)}
    assert set(ticks) >= {0.0, 100.0}
    points = re.search(r'<polyline class="series" points="([^"]+)"', svg).group(1).split()
    ys = [float(p.split(",")[1]) for p in points]
    assert ys[0] == pytest.approx(ticks[0.0], abs=0.11) and ys[2] == pytest.approx(ticks[100.0], abs=0.11)
    assert ys[1] == pytest.approx(ticks[0.0] + 0.37 * (ticks[100.0] - ticks[0.0]), abs=0.11)
    assert nice_ticks(0.3, 9.7, outer=True) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
