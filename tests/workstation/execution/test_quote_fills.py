"""Quote bars end to end: import (bid <= ask per field), streaming (ctx.quote, no look-ahead) and
`execution.fill_prices: "quotes"` fills, each checked against the quote frame with pandas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.workstation.execution import quote_strategies
from workstation.config import validate_config_dict
from workstation.store import BarStore, generate_demo
from workstation.store.importer import import_files
from workstation.system import SystemManager

MINUTE = 60_000_000_000
DAYS = ("2024-12-03", "2024-12-05")


def _quote_frame(store_root: Path) -> pd.DataFrame:
    """Quote bars around the demo's trade bars: spread 1-3 cents by minute; every 9th minute of BOLT
    and its first minute of each session have no quote bar (the fallback rule; no quote carried over)."""
    bars = pd.read_parquet(store_root / "bars" / "interval=1m")
    bars = bars[(bars["period"].astype(str) >= DAYS[0]) & (bars["period"].astype(str) <= DAYS[1])]
    ts = bars["timestamp"].astype("int64") if bars["timestamp"].dtype.kind == "i" else \
        bars["timestamp"].dt.tz_convert("UTC").astype("int64")
    minute = (ts // MINUTE).to_numpy()
    half = 0.005 * (1 + minute % 3)
    frame = pd.DataFrame({"symbol": bars["symbol"].astype(str).to_numpy(),
                          "timestamp": bars["timestamp"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                          .to_numpy()})
    for f in ("open", "high", "low", "close"):
        frame[f"bid_{f}"] = np.round(bars[f].to_numpy() - half, 4)
        frame[f"ask_{f}"] = np.round(bars[f].to_numpy() + half, 4)
    frame["bid_size"] = 100 + minute % 7 * 100
    frame["ask_size"] = 200.0
    first_minute = (minute % (24 * 60)) == 14 * 60 + 30      # 09:30 ET in December: the session's first bar
    drop = (frame["symbol"] == "BOLT").to_numpy() & ((minute % 9 == 0) | first_minute)
    return frame[~drop].reset_index(drop=True)


@pytest.fixture(scope="module")
def quote_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("quotes") / "store"
    generate_demo(root, symbols=2, days=5, seed=11)
    frame = _quote_frame(root)
    path = root.parent / "quotes.csv"
    frame.to_csv(path, index=False)
    summary = import_files([path], BarStore(root), kind="quotes")
    assert summary.rows_quarantined == 0 and summary.rows_stored == len(frame)
    stored = pd.read_parquet(root / "quotes" / "interval=1m")
    stored["ts"] = stored["timestamp"].dt.tz_convert("UTC").astype("int64")
    return root, stored.set_index(["symbol", "ts"]).sort_index()


def _run(root: Path, **execution) -> SystemManager:
    return _run_config(root, [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
                       execution)


def _run_config(root: Path, strategies: list, execution: dict, streams: dict | None = None) -> SystemManager:
    cfg = validate_config_dict({
        "name": "quote fills", "symbols": ["ACME", "BOLT"],
        "streams": {"derived": [], **(streams or {})},
        "backtest": {"start_date": DAYS[0], "end_date": DAYS[1], "stage_threads": False},
        "historical": {"trailing_days": 0, "warmup_bars": 0},
        "strategies": strategies,
        "risk": {"min_quality_pct": 0, "max_position_qty": 1e9},
        "execution": {"allow_short": True, **execution},
    })
    system = SystemManager(cfg, store=BarStore(root))
    system.start()
    assert system.wait(120) and system.error is None, system.error
    return system


def _fills(system: SystemManager) -> pd.DataFrame:
    return pd.DataFrame([{"symbol": f.symbol, "ts": f.time, "quantity": f.quantity, "price": f.price,
                          "order_id": f.order_id} for f in system.broker.fills])


def _trade_bars(root: Path) -> pd.DataFrame:
    bars = pd.read_parquet(root / "bars" / "interval=1m")
    bars["ts"] = bars["timestamp"].dt.tz_convert("UTC").astype("int64")
    return bars.set_index(["symbol", "ts"]).sort_index()


@pytest.mark.parametrize("fill_rule, field", [("next_open", "open"), ("close", "close")])
def test_market_orders_fill_at_the_ask_and_the_bid(quote_store, fill_rule, field):
    root, quotes = quote_store
    system = _run(root, fill_prices="quotes", fill_rule=fill_rule)
    fills = _fills(system)
    assert len(fills) > 20 and (fills["quantity"] > 0).any() and (fills["quantity"] < 0).any()
    keys = list(zip(fills["symbol"], fills["ts"], strict=True))
    has_quote = np.array([k in quotes.index for k in keys])
    assert has_quote.sum() > 10 and (~has_quote).sum() > 0       # both the rule and the fallback are exercised
    q = quotes.loc[[k for k, h in zip(keys, has_quote, strict=True) if h]]
    quoted = fills[has_quote]
    expected = np.where(quoted["quantity"] > 0, q[f"ask_{field}"], q[f"bid_{field}"])
    np.testing.assert_array_equal(quoted["price"].to_numpy(), expected)
    bars = _trade_bars(root).loc[[k for k, h in zip(keys, has_quote, strict=True) if not h]]
    np.testing.assert_array_equal(fills[~has_quote]["price"].to_numpy(), bars[field].to_numpy())
    quotes_summary = system.summary()["quotes"]
    assert quotes_summary["fills_at_trade_prices"] == int((~has_quote).sum())
    assert quotes_summary["fills_at_quotes"] == int(has_quote.sum())


def test_limit_orders_fill_against_the_opposite_side(quote_store):
    root, quotes = quote_store
    strategy = {"name": "limits", "class_path": "tests.workstation.execution.quote_strategies:QuoteLimits",
                "params": {"key": "limits"}}
    system = _run_config(root, [strategy], {"fill_prices": "quotes"})
    fills = _fills(system)
    orders = {o.id: o for o in system.broker.orders()}
    checked = 0
    for f in fills.itertuples():
        key = (f.symbol, f.ts)
        if key not in quotes.index:
            continue
        q, limit = quotes.loc[key], orders[f.order_id].limit_price
        if f.quantity > 0:   # a buy limit sees the ask bar: ask open at or under L -> the open, else L
            assert q["ask_low"] <= limit
            assert f.price == (q["ask_open"] if q["ask_open"] <= limit else limit)
        else:
            assert q["bid_high"] >= limit
            assert f.price == (q["bid_open"] if q["bid_open"] >= limit else limit)
        checked += 1
    assert checked > 5 and (fills["quantity"] > 0).any() and (fills["quantity"] < 0).any()
    # with trade prices the same orders fill elsewhere: the quote sides changed the result
    trade_run = _run_config(root, [strategy], {}, streams={"quotes": True})
    assert _fills(trade_run)["price"].tolist() != fills["price"].tolist()


def test_ctx_quote_is_the_latest_completed_quote_bar(quote_store):
    root, quotes = quote_store
    strategy = {"name": "limits", "class_path": "tests.workstation.execution.quote_strategies:QuoteLimits",
                "params": {"key": "seen", "every": 1000}}
    _run_config(root, [strategy], {}, streams={"quotes": True})
    seen = quote_strategies.SEEN["seen"]
    assert len(seen) > 500
    by_symbol = {s: quotes.loc[s] for s in ("ACME", "BOLT")}
    misses = 0
    for now, symbol, quote in seen:
        frame = by_symbol[symbol]
        starts = frame.index.to_numpy()
        visible = starts[(starts + MINUTE <= now) & (starts > now - 8 * 60 * MINUTE)]   # this session's
        if quote is None:
            assert not len(visible)          # none yet this session (yesterday's are not carried over)
            misses += 1
            continue
        assert quote.timestamp + MINUTE <= now                      # never before its end
        assert quote.timestamp == visible.max()                     # the latest one that has ended
        row = frame.loc[quote.timestamp]
        assert (quote.bid, quote.ask) == (row["bid_close"], row["ask_close"])
        assert quote.spread == pytest.approx(row["ask_close"] - row["bid_close"])
    assert misses < len(seen) / 10


def test_trade_price_runs_are_unchanged_by_quote_bars(quote_store, tmp_path):
    root, _ = quote_store
    plain = tmp_path / "plain"
    generate_demo(plain, symbols=2, days=5, seed=11)
    a = _fills(_run(plain))
    b = _fills(_run(root))
    c = _fills(_run_config(root, [{"name": "sma", "class_path": "sma_crossover",
                                   "params": {"fast": 3, "slow": 8}}], {}, streams={"quotes": True}))
    assert len(a) > 20
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_import_refuses_crossed_quotes_and_keeps_locked_ones(tmp_path):
    rows = [
        # timestamp,          bid o/h/l/c,               ask o/h/l/c,               sizes
        ("2024-12-04T14:30:00Z", 10.00, 10.05, 9.98, 10.02, 10.01, 10.06, 9.99, 10.03, 300, 200),   # good
        ("2024-12-04T14:31:00Z", 10.02, 10.04, 10.00, 10.03, 10.02, 10.05, 10.01, 10.04, 100, 100),  # locked open
        ("2024-12-04T14:32:00Z", 10.01, 10.05, 10.00, 10.05, 10.02, 10.05, 10.01, 10.04, 100, 100),  # crossed close
        ("2024-12-04T14:33:00Z", 10.01, 10.09, 10.00, 10.03, 10.02, 10.05, 10.01, 10.04, 100, 100),  # crossed high
        ("2024-12-04T14:34:00Z", 10.01, 10.04, 10.00, 10.03, 10.02, 10.05, 10.01, 10.04, -5, 100),   # negative size
        ("2024-12-04T14:35:00Z", 10.01, 10.04, 10.00, 10.03, 10.02, 10.01, 10.03, 10.04, 100, 100),  # ask high < low
        ("2024-12-07T14:35:00Z", 10.01, 10.04, 10.00, 10.03, 10.02, 10.05, 10.01, 10.04, 100, 100),  # Saturday
    ]
    columns = ["time", "BidOpen", "BidHigh", "BidLow", "BidClose", "AskOpen", "AskHigh", "AskLow", "AskClose",
               "BidSize", "AskSize"]
    path = tmp_path / "ACME_quotes.csv"
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    store = BarStore(tmp_path / "store", create=True)
    summary = import_files([path], store, kind="quotes")
    assert (summary.rows_read, summary.rows_stored, summary.rows_quarantined) == (7, 2, 5)
    assert summary.quarantined_by_reason == {"crossed quote": 2, "negative size": 1, "high < low": 1,
                                             "closed exchange date": 1}
    stored = pd.read_parquet(tmp_path / "store" / "quotes")
    assert stored["timestamp"].dt.strftime("%H:%M").tolist() == ["14:30", "14:31"]
    assert stored.iloc[1]["bid_open"] == stored.iloc[1]["ask_open"] == 10.02
    quarantine = pd.read_parquet(summary.quarantine_file)
    details = dict(zip(quarantine["source_line"], quarantine["detail"], strict=True))
    assert details[4] == "bid above ask: bid_close 10.05 > ask_close 10.04"
    assert details[5] == "bid above ask: bid_high 10.09 > ask_high 10.05"
    assert "ask_high 10.01 < ask_low 10.03" in details[7]
    # the bars' tree is untouched and the importer refuses a quote file imported as bars
    assert not (tmp_path / "store" / "bars").exists()
    with pytest.raises(Exception, match="lacks column"):
        import_files([path], store)
    again = import_files([path], store, kind="quotes")     # re-import: duplicates, nothing new
    assert again.rows_stored == 0 and again.duplicates_skipped == 2


def test_quote_quarantine_says_which_cells_are_empty_and_quotes_text(tmp_path):
    path = tmp_path / "ACME_quotes.csv"
    path.write_text("time,bid_open,bid_high,bid_low,bid_close,ask_open,ask_high,ask_low,ask_close,bid_size,ask_size\n"
                    "2024-12-04T14:30:00Z,10.00,10.05,9.98,,10.01,10.06,9.99,10.03,300,200\n"
                    "2024-12-04T14:31:00Z,10.00,10.05,9.98,10.02,n/a,10.06,,10.03,300,200\n")
    summary = import_files([path], BarStore(tmp_path / "store", create=True), kind="quotes")
    assert summary.quarantined_by_reason == {"missing value": 2}
    quarantine = pd.read_parquet(summary.quarantine_file)
    details = dict(zip(quarantine["source_line"], quarantine["detail"], strict=True))
    assert details == {2: "no value in bid_close", 3: "no value in ask_low; ask_open 'n/a' is not a number"}


def test_duckdb_reads_bars_and_quotes_each_in_one_call(quote_store):
    duckdb = pytest.importorskip("duckdb")
    root, quotes = quote_store
    bars = duckdb.sql(f"SELECT count(*) FROM read_parquet('{root}/bars/**/*.parquet', hive_partitioning=true)"
                      ).fetchall()[0][0]
    assert bars == len(pd.read_parquet(root / "bars"))
    q = duckdb.sql(f"SELECT interval, count(*) AS n, min(ask_close - bid_close) AS spread FROM "
                   f"read_parquet('{root}/quotes/**/*.parquet', hive_partitioning=true) GROUP BY interval").df()
    assert q["interval"].tolist() == ["1m"] and q["n"].tolist() == [len(quotes)]
    assert q["spread"].iloc[0] == pytest.approx(0.01)


def test_quote_fills_without_quote_bars_in_the_range_are_refused_before_the_run(quote_store, tmp_path):
    from workstation.preflight import preflight_problems

    root, _ = quote_store
    plain = tmp_path / "plain"
    generate_demo(plain, symbols=2, days=5, seed=11)
    base = {"name": "q", "symbols": ["ACME", "BOLT"], "backtest": {"start_date": DAYS[0], "end_date": DAYS[1]},
            "historical": {"trailing_days": 0, "warmup_bars": 0}}
    quotes_cfg = validate_config_dict({**base, "execution": {"fill_prices": "quotes"}})
    problems = preflight_problems(quotes_cfg, plain)
    assert [p for p, _ in problems] == ["execution.fill_prices"]
    assert "--kind quotes" in problems[0][1]
    assert preflight_problems(quotes_cfg, root) == []
    assert preflight_problems(validate_config_dict({**base, "streams": {"quotes": True}}), plain) == []


def test_a_sweep_of_quote_fills_is_refused_with_the_field(quote_store, tmp_path, capsys):
    from workstation.cli import main as cli_main

    root, _ = quote_store
    config = tmp_path / "q.json"
    config.write_text(json.dumps({
        "name": "q", "symbols": ["ACME", "BOLT"], "backtest": {"start_date": DAYS[0], "end_date": DAYS[1]},
        "historical": {"trailing_days": 0, "warmup_bars": 0}, "execution": {"fill_prices": "quotes"},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}]}), encoding="utf-8")
    code = cli_main(["sweep", str(config), "--store", str(root), "--out", str(tmp_path / "sw"),
                     "--param", "strategies.sma.params.fast=3,4", "--workers", "1"])
    assert code == 2
    assert "execution.fill_prices" in capsys.readouterr().err
    assert not (tmp_path / "sw" / "results.parquet").exists()


def test_store_check_names_a_damaged_quote_file(tmp_path):
    root = tmp_path / "store"
    generate_demo(root, symbols=1, days=2, seed=3)
    path = tmp_path / "ACME_q.csv"
    pd.DataFrame([("2024-12-04T14:30:00Z", 10, 10.1, 9.9, 10, 10.01, 10.11, 9.91, 10.01)],
                 columns=["time", "bid_open", "bid_high", "bid_low", "bid_close", "ask_open", "ask_high", "ask_low",
                          "ask_close"]).to_csv(path, index=False)
    store = BarStore(root)
    import_files([path], store, kind="quotes")
    assert store.check() == []
    qfile = next((root / "quotes").rglob("part-0.parquet"))
    qfile.write_bytes(qfile.read_bytes()[:40])
    problems = store.check()
    assert len(problems) == 1 and str(qfile) in problems[0]


def test_market_on_close_orders_fill_at_the_closing_bars_ask_and_bid_close(quote_store):
    """A buy at the ask close and a sell at the bid close of the symbol's 15:59 quote bar (the trade close
    where that minute has no quote bar)."""
    root, quotes = quote_store
    orders = [{"date": day, "at": "10:00", "symbol": symbol, "quantity": qty, "tif": "gtc"}
              for day in ("2024-12-03", "2024-12-04", "2024-12-05") for symbol, qty in (("ACME", 10), ("BOLT", -10))]
    strategy = {"name": "moc", "class_path": "tests.workstation.execution.moc_strategies:SendOnClose",
                "params": {"orders": orders}}
    system = _run_config(root, [strategy], {"fill_prices": "quotes"})
    fills = _fills(system)
    assert len(fills) == len(orders)
    bars = _trade_bars(root)
    quoted = 0
    for f in fills.itertuples():
        assert pd.Timestamp(f.ts, tz="UTC").tz_convert("America/New_York").strftime("%H:%M") == "15:59"
        key = (f.symbol, f.ts)
        if key in quotes.index:
            quoted += 1
            assert f.price == quotes.loc[key, "ask_close" if f.quantity > 0 else "bid_close"]
        else:
            assert f.price == bars.loc[key, "close"]
    assert quoted >= 4
