"""Backtest statistics on hand-computed examples, and run-folder frames / loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from workstation.errors import DataError
from workstation.execution.results import (
    EQUITY_COLUMNS,
    TRADE_COLUMNS,
    equity_frame,
    trades_frame,
)
from workstation.execution.stats import compute_stats, drawdown_series
from workstation.model.trading import Trade
from workstation.runs import load_run


def _equity(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """rows: (UTC ISO time, equity, gross exposure)."""
    return pd.DataFrame(
        {
            "time": pd.to_datetime([r[0] for r in rows], utc=True),
            "equity": [r[1] for r in rows],
            "cash": [r[1] for r in rows],
            "positions_value": 0.0,
            "gross_exposure": [r[2] for r in rows],
        }
    )


EQUITY = _equity(
    [
        ("2024-01-02T14:30Z", 1000.0, 0.0),
        ("2024-01-02T15:00Z", 1100.0, 500.0),
        ("2024-01-03T00:30Z", 1050.0, 500.0),  # 19:30 New York: still 2 January there
        ("2024-01-03T14:30Z", 990.0, 0.0),
        ("2024-01-03T20:59Z", 1155.0, 300.0),
        ("2024-01-04T14:30Z", 1155.0, 0.0),
        ("2024-01-04T20:59Z", 1000.0, 200.0),
    ]
)
TRADES = pd.DataFrame(
    {
        "symbol": ["A", "B", "A", "A", "B"],
        "quantity": [100.0, -50.0, 10.0, 20.0, 5.0],
        "pnl": [100.0, -50.0, 30.0, -20.0, 0.0],
        "commission": [1.0, 1.0, 0.5, 0.5, 0.0],
    }
)


def test_returns_sharpe_and_drawdown_by_hand():
    s = compute_stats(EQUITY, TRADES, 1000.0)
    assert s["final_equity"] == 1000.0
    assert s["total_return_pct"] == pytest.approx(0.0)
    assert s["sessions"] == 3
    daily = np.array([1050 / 1000 - 1, 1155 / 1050 - 1, 1000 / 1155 - 1])
    mean = daily.sum() / 3
    sd = math.sqrt(((daily - mean) ** 2).sum() / 2)
    assert s["sharpe"] == pytest.approx(mean / sd * math.sqrt(252))
    assert s["max_drawdown_pct"] == pytest.approx((1000 / 1155 - 1) * 100)
    assert s["max_drawdown"] == pytest.approx(-155.0)
    assert s["max_drawdown_peak_time"] == "2024-01-04T14:30:00Z"
    assert s["max_drawdown_trough_time"] == "2024-01-04T20:59:00Z"
    assert s["exposure_pct"] == pytest.approx(4 / 7 * 100)
    assert s["start_time"] == "2024-01-02T14:30:00Z" and s["end_time"] == "2024-01-04T20:59:00Z"
    json.dumps(s)  # JSON-friendly


def test_trade_statistics_by_hand():
    s = compute_stats(EQUITY, TRADES, 1000.0)
    assert s["trades"] == 5 and s["winning_trades"] == 2 and s["losing_trades"] == 2
    assert s["long_trades"] == 4 and s["short_trades"] == 1
    assert s["win_rate_pct"] == pytest.approx(40.0)
    assert s["profit_factor"] == pytest.approx(130 / 70)
    assert s["gross_profit"] == 130.0 and s["gross_loss"] == -70.0
    assert s["avg_trade_pnl"] == pytest.approx(12.0)
    assert (s["best_trade"], s["worst_trade"]) == (100.0, -50.0)
    assert s["total_commission"] == pytest.approx(3.0)
    # net 0 = closed trades +60 + the position still open at the end -60 (200 of gross exposure)
    assert (s["net_pnl"], s["closed_pnl"], s["open_pnl"], s["open_exposure"]) == (0.0, 60.0, -60.0, 200.0)
    assert s["per_symbol"] == {
        "A": {"trades": 3, "pnl": pytest.approx(110.0), "win_rate_pct": pytest.approx(200 / 3)},
        "B": {"trades": 2, "pnl": pytest.approx(-50.0), "win_rate_pct": 0.0},
    }


def test_drawdown_series_starts_from_starting_cash():
    eq = _equity(
        [
            ("2024-01-02T14:30Z", 950.0, 0.0),
            ("2024-01-02T14:31Z", 1200.0, 0.0),
            ("2024-01-02T14:32Z", 900.0, 0.0),
        ]
    )
    dd = drawdown_series(eq, starting_cash=1000.0)
    assert dd["peak"].tolist() == [1000.0, 1200.0, 1200.0]
    assert dd["drawdown"].tolist() == pytest.approx([-50.0, 0.0, -300.0])
    assert dd["drawdown_pct"].tolist() == pytest.approx([-5.0, 0.0, -25.0])
    assert drawdown_series(eq)["peak"].tolist() == [950.0, 1200.0, 1200.0]
    s = compute_stats(eq, TRADES.iloc[:0], 1000.0)
    assert s["max_drawdown_pct"] == pytest.approx(-25.0)
    # one session: no Sharpe; no trades: no rates
    assert s["sharpe"] is None and s["trades"] == 0 and s["win_rate_pct"] is None
    assert s["profit_factor"] is None and s["avg_trade_pnl"] is None and s["per_symbol"] == {}


def test_edge_cases_no_losses_flat_curve_and_empty_run():
    only_wins = TRADES[TRADES["pnl"] > 0]
    assert compute_stats(EQUITY, only_wins, 1000.0)["profit_factor"] is None
    flat = _equity([("2024-01-02T15:00Z", 1000.0, 0.0), ("2024-01-03T15:00Z", 1000.0, 0.0)])
    s = compute_stats(flat, TRADES.iloc[:0], 1000.0)
    assert s["sharpe"] is None and s["max_drawdown_pct"] == 0.0 and s["exposure_pct"] == 0.0
    assert s["max_drawdown_peak_time"] is None
    empty = compute_stats(equity_frame(*(np.zeros(0),) * 5), trades_frame([]), 5000.0)
    assert empty["final_equity"] == 5000.0 and empty["total_return_pct"] == 0.0 and empty["trades"] == 0
    assert empty["sessions"] == 0 and empty["exposure_pct"] is None
    with pytest.raises(ValueError, match="starting_cash"):
        compute_stats(flat, TRADES, 0.0)


# ------------------------------------------------------------------------------------ run folders


def _trades() -> list[Trade]:
    base = int(pd.Timestamp("2024-01-02T14:31Z").value)
    m = 60_000_000_000
    return [
        Trade("AAA", 100, base, 10.0, base + 5 * m, 11.0, 99.0, 1.0, "sma"),
        Trade("BBB", -50, base + 2 * m, 20.0, base + 9 * m, 21.0, -51.0, 1.0, "rsi"),
    ]


def _write_run(tmp_path, trades: list[Trade], with_signals: bool = True):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(
        json.dumps(
            {
                "name": "t",
                "timezone": "America/New_York",
                "execution": {"starting_cash": 10_000.0},
            }
        )
    )
    trades_frame(trades).to_parquet(run / "trades.parquet", index=False)
    t = np.array(
        [pd.Timestamp("2024-01-02T14:30Z").value + k * 60_000_000_000 for k in range(10)], dtype=np.int64
    )
    eq = 10_000 + np.arange(10, dtype=float) * 5
    equity_frame(t, eq, eq, np.zeros(10), np.r_[0.0, np.full(9, 1000.0)]).to_parquet(
        run / "equity.parquet", index=False
    )
    if with_signals:
        pd.DataFrame(
            {
                "time": pd.to_datetime([t[1]], unit="ns", utc=True),
                "symbol": ["AAA"],
                "strategy": ["sma"],
                "action": ["BUY"],
                "quantity": [100.0],
                "price": [10.0],
                "confidence": [1.0],
                "approved": [True],
                "reason": [""],
            }
        ).to_parquet(run / "signals.parquet", index=False)
    return run


def test_frames_have_the_documented_schema():
    tf = trades_frame(_trades())
    assert tuple(tf.columns) == TRADE_COLUMNS
    assert (
        str(tf["entry_time"].dtype) == "datetime64[ns, UTC]"
        and str(tf["exit_time"].dtype) == "datetime64[ns, UTC]"
    )
    assert tf["quantity"].tolist() == [100.0, -50.0]
    assert tf["entry_time"].iloc[0] == pd.Timestamp("2024-01-02T14:31Z")
    assert tuple(trades_frame([]).columns) == TRADE_COLUMNS and trades_frame([]).empty
    ef = equity_frame(np.array([0, 60_000_000_000]), [1.0, 2.0], [1.0, 1.0], [0.0, 1.0], [0.0, 1.0])
    assert tuple(ef.columns) == EQUITY_COLUMNS and str(ef["time"].dtype) == "datetime64[ns, UTC]"


def test_load_run_round_trip(tmp_path):
    run = _write_run(tmp_path, _trades())
    res = load_run(run)
    assert res.name == "t" and res.timezone == "America/New_York" and res.starting_cash == 10_000.0
    assert len(res.trades) == 2 and len(res.equity) == 10 and len(res.signals) == 1
    assert res.trades["symbol"].tolist() == ["AAA", "BBB"]
    assert str(res.trades["entry_time"].dt.tz) == "UTC"
    assert res.stats["trades"] == 2 and res.stats["final_equity"] == pytest.approx(10_045.0)
    assert res.stats["exposure_pct"] == pytest.approx(90.0)
    assert res.metrics is None and res.report is None


def test_load_run_reads_signals_written_as_a_folder_of_parts(tmp_path):
    run = _write_run(tmp_path, _trades(), with_signals=True)
    single = pd.read_parquet(run / "signals.parquet")
    (run / "signals.parquet").unlink()
    (run / "signals.parquet").mkdir()
    single.to_parquet(run / "signals.parquet" / "part-0000.parquet", index=False)
    single.to_parquet(run / "signals.parquet" / "part-0001.parquet", index=False)
    assert len(load_run(run).signals) == 2


def test_load_run_with_no_trades_is_valid(tmp_path):
    res = load_run(_write_run(tmp_path, [], with_signals=False))
    assert res.trades.empty and res.stats["trades"] == 0 and res.signals.empty
    assert "signals" in res.missing_tables


def test_load_run_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        load_run(tmp_path / "nowhere")
    run = _write_run(tmp_path, _trades())
    (run / "equity.parquet").unlink()
    with pytest.raises(DataError, match="equity.parquet"):
        load_run(run)
    pd.DataFrame({"time": [1]}).to_parquet(run / "equity.parquet")
    with pytest.raises(DataError, match=r"equity.parquet lacks columns equity, cash, .*; found time$"):
        load_run(run)
    (run / "equity.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="cannot read .*equity.parquet"):
        load_run(run)
    (run / "config.json").write_text("{broken")
    with pytest.raises(DataError, match="config.json"):
        load_run(run)


def _random_run(rng: np.random.Generator, points: int, trades: int, zone_days: int):
    """An equity curve of `points` bar times spread over `zone_days` days (crossing clock changes and
    New York midnights) and `trades` trades, with the odd NaN equity point."""
    start = pd.Timestamp("2024-03-05 14:30", tz="UTC").value
    times = np.sort(start + rng.integers(0, zone_days * 86_400, points) * 1_000_000_000 + rng.integers(0, 1000, points))
    equity = 1e5 + np.cumsum(rng.standard_normal(points) * 10.0 ** rng.integers(0, 4))
    if points > 5 and rng.random() < 0.3:
        equity[rng.integers(0, points, 2)] = np.nan
    gross = np.where(rng.random(points) < 0.4, 0.0, rng.random(points) * 1e4)
    symbols = [f"S{int(k)}" for k in rng.integers(0, 7, trades)]
    frame = pd.DataFrame({"symbol": pd.Series(symbols, dtype="string"),
                          "quantity": rng.choice([-100.0, 50.0, 10.0], trades),
                          "pnl": np.round(rng.standard_normal(trades) * 100.0, 2) * (rng.random(trades) > 0.1),
                          "commission": rng.random(trades) * 2.0})
    curve = pd.DataFrame({"time": pd.to_datetime(times, unit="ns", utc=True), "equity": equity,
                          "cash": equity, "positions_value": 0.0, "gross_exposure": gross})
    return curve, frame


@pytest.mark.parametrize("seed", range(12))
def test_numpy_statistics_equal_the_pandas_implementation_bit_for_bit(seed):
    """The run writer's `statistics` (numpy, from the broker's arrays) and `compute_stats` (the run
    folder's frames) equal the pandas implementation they replaced (kept in pandas_stats_reference),
    value for value, exactly: curves of 0 to 3,000 points over up to 400 days (clock changes, one
    session, NaN points), trade lists with and without losers, in other time zones too."""
    from tests.workstation.execution.pandas_stats_reference import compute_stats as pandas_compute_stats
    from workstation.execution.stats import statistics

    rng = np.random.default_rng(seed)
    points = [0, 1, 3, 40, 3000][seed % 5]
    curve, trade_frame = _random_run(rng, points, int(rng.integers(0, 300)) if seed % 4 else 0,
                                     [1, 3, 30, 400][seed % 4])
    if seed == 7:
        trade_frame["pnl"] = trade_frame["pnl"].abs() + 1.0             # no loser: profit factor None
    tz = ["America/New_York", "Asia/Hong_Kong", "Europe/London"][seed % 3]
    cash = float(rng.choice([1e5, 5e4, 2e5]))
    expected = pandas_compute_stats(curve, trade_frame, cash, tz=tz)
    assert compute_stats(curve, trade_frame, cash, tz=tz) == expected
    got = statistics(curve["time"].dt.as_unit("ns").astype("int64").to_numpy() if points else np.zeros(0, np.int64),
                     curve["equity"].to_numpy(), curve["gross_exposure"].to_numpy(),
                     trade_frame["pnl"].to_numpy(), trade_frame["quantity"].to_numpy(),
                     trade_frame["commission"].to_numpy(), list(trade_frame["symbol"].astype(str)), cash, tz)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)   # exact, NaN/None alike
    assert got == expected


def test_numpy_statistics_equal_pandas_on_the_hand_examples_and_edge_cases():
    from tests.workstation.execution.pandas_stats_reference import compute_stats as pandas_compute_stats

    flat = _equity([("2024-01-02T14:30Z", 1000.0, 0.0), ("2024-01-03T14:30Z", 1000.0, 0.0)])
    only_wins = TRADES[TRADES["pnl"] > 0]
    no_commission = TRADES.drop(columns=["commission"])
    for equity, trades, cash in ((EQUITY, TRADES, 1000.0), (EQUITY, only_wins, 1000.0), (flat, TRADES.iloc[:0], 1000.0),
                                 (EQUITY, no_commission, 900.0), (EQUITY.drop(columns=["gross_exposure"]), TRADES, 1e3),
                                 (equity_frame(*(np.zeros(0),) * 5), trades_frame([]), 5000.0)):
        assert compute_stats(equity, trades, cash) == pandas_compute_stats(equity, trades, cash)


def test_the_open_at_end_sentence_splits_the_net_pnl():
    from workstation.report.formatting import open_at_end_text

    s = compute_stats(EQUITY, TRADES, 1000.0)          # net 0 = closed +60, open -60, 200 exposed at the end
    assert open_at_end_text(s) == ("Positions were still open at the end ($200.00 gross exposure, marked at the "
                                   "last closes): \u2212$60.00 of the $0.00 net P&L is theirs; the trade statistics "
                                   "count the closed trades' +$60.00 only.")
    flat = EQUITY.assign(gross_exposure=0.0)
    assert open_at_end_text(compute_stats(flat, TRADES, 1000.0)) is None


def test_nothing_open_at_the_end_is_exactly_zero_open_pnl():
    """Net and closed P&L are two sums of the same money; with nothing open at the end their difference
    is rounding (-2.7e-10 on the example run), reported as exactly 0."""
    equity = _equity([("2024-01-02T14:30Z", 1000.0, 0.0), ("2024-01-02T15:00Z", 1000.1 + 0.2, 0.0)])
    trades = pd.DataFrame({"symbol": ["A", "A"], "quantity": [1.0, 1.0], "pnl": [0.1, 0.2], "commission": [0.0, 0.0]})
    s = compute_stats(equity, trades, 1000.0)
    assert s["net_pnl"] - s["closed_pnl"] != 0.0                    # the rounding is there
    assert s["open_pnl"] == 0.0 and s["open_exposure"] == 0.0
