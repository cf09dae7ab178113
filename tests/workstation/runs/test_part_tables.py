"""The run writer builds its signals, orders, fills, trades, equity, quality and gaps parts straight
from columns (no pandas anywhere in a run: workstation.arrow_tables). Each table must be exactly the
table pandas made before: `pa.Table.from_pandas` of the reference frame builders (same schema and
pandas metadata, same values, NaN and None as null), so every reader (pandas, DuckDB,
workstation.runs) sees the same data. An empty part now has the schema of any other part (pandas
gave an empty signals frame untyped columns)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from workstation.execution.orders import Order, OrderRole, OrderStatus, OrderType, TimeInForce
from workstation.execution.records import account_equity_frame, fills_frame, orders_frame
from workstation.execution.results import trades_frame
from workstation.model.trading import Fill, Trade
from workstation.pipeline.gap_list import gaps_frame
from workstation.run_writer import SIGNAL_PART_COLUMNS, PartTables, session_bars_table


def _signals_frame(rows: list[tuple]) -> pd.DataFrame:
    """The signals frame the run writer made with pandas before (the reference)."""
    df = pd.DataFrame(rows, columns=list(SIGNAL_PART_COLUMNS))
    df["time"] = pd.to_datetime(df["time"].astype("int64"), utc=True)
    return df.astype({"quantity": float, "price": float, "confidence": float, "approved": bool})


def _assert_same(table: pa.Table, frame: pd.DataFrame) -> None:
    expected = pa.Table.from_pandas(frame, preserve_index=False)
    assert table.schema.equals(expected.schema, check_metadata=True), (table.schema, expected.schema)
    # null positions and values column by column (NaN == NaN where a float is not made null)
    for name in expected.column_names:
        got, want = table.column(name).to_pylist(), expected.column(name).to_pylist()
        assert [None if isinstance(x, float) and math.isnan(x) else x for x in got] == \
               [None if isinstance(x, float) and math.isnan(x) else x for x in want], name
        assert table.column(name).null_count == expected.column(name).null_count, name
    pd.testing.assert_frame_equal(table.to_pandas(), expected.to_pandas())


def _order(k: int, **kw) -> Order:
    base = dict(id=k, symbol=f"S{k % 3}", quantity=100.0 if k % 2 else -50.0, order_type=OrderType.MARKET,
                limit_price=None, stop_price=None, trail_amount=None, trail_percent=None, tif=TimeInForce.DAY,
                status=OrderStatus.FILLED, filled_quantity=100.0, avg_fill_price=10.25,
                submitted_at=1_700_000_000_000_000_000 + k * 60_000_000_000,
                status_time=1_700_000_000_000_000_000 + k * 120_000_000_000, reason="", strategy="sma",
                tag=None, parent_id=None, oco_group=None, role=OrderRole.SINGLE)
    base.update(kw)
    return Order(**base)


def test_orders_table_equals_the_pandas_table_with_missing_prices_ids_and_tags():
    orders = [
        _order(1),
        _order(2, order_type=OrderType.LIMIT, limit_price=9.5, status=OrderStatus.CANCELLED, filled_quantity=0.0,
               avg_fill_price=math.nan, reason="cancelled by the strategy", tag="entry", oco_group=4),
        _order(3, order_type=OrderType.TRAILING_STOP, stop_price=9.0, trail_amount=0.5, trail_percent=None,
               parent_id=2, role=OrderRole.STOP_LOSS, tif=TimeInForce.GTC, status=OrderStatus.EXPIRED),
        _order(4, order_type=OrderType.STOP_LIMIT, stop_price=11.0, limit_price=11.2, trail_percent=1.5,
               status=OrderStatus.REJECTED, reason="buying power: ünïcode ok"),
    ]
    tables = PartTables()
    for rows in (orders, orders[1:], orders[:1], orders[::-1], []):   # the schema is taken once, then reused
        _assert_same(tables.orders(rows), orders_frame(rows))


def test_fills_trades_equity_tables_equal_the_pandas_tables():
    fills = [Fill("S1", 100.0, 10.5, 1_700_000_000_000_000_000, 1.0, "sma", 1),
             Fill("S2", -50.0, 20.25, 1_700_000_060_000_000_000, 0.0, "rsi", 2)]
    trades = [Trade("S1", 100.0, 1_700_000_000_000_000_000, 10.5, 1_700_000_600_000_000_000, 11.0, 48.0, 2.0, "sma"),
              Trade("S2", -50.0, 1_700_000_060_000_000_000, 20.25, 1_700_000_900_000_000_000, 20.0, 11.5, 1.0,
                    "rsi+sma")]
    times = np.array([1_700_000_000_000_000_000, 1_700_000_060_000_000_000], dtype=np.int64)
    values = np.array([[1e5, 9e4, 1e4, 1e4, 1e4, 3e5, 2.0], [1.01e5, 9e4, 1.1e4, 1.1e4, 1.1e4, np.nan, 0.0]])
    tables = PartTables()
    for _ in range(2):
        _assert_same(tables.fills(fills), fills_frame(fills))
        _assert_same(tables.trades(trades), trades_frame(trades))
        _assert_same(tables.equity(times, values), account_equity_frame(times, values))
    _assert_same(tables.fills([]), fills_frame([]))
    _assert_same(tables.trades([]), trades_frame([]))
    _assert_same(tables.equity(times[:0], values[:0]), account_equity_frame(times[:0], values[:0]))


def test_signals_table_equals_the_pandas_table_with_errors_and_nan_prices():
    rows = [(1_700_000_000_000_000_000, "S1", "sma", "BUY", 100.0, 10.5, 1.0, True, "", "signal"),
            (1_700_000_060_000_000_000, "S2", "sma", "SELL", 50.0, 20.0, 0.4, False,
             "confidence 0.40 < minimum 0.50", "signal"),
            (1_700_000_120_000_000_000, "", "engine", "ERROR", 0.0, float("nan"), 0.0, False, "boom", "error")]
    tables = PartTables()
    for part in (rows, rows[2:], rows[:1]):
        _assert_same(tables.signals(part), _signals_frame(part))
    empty = tables.signals([])
    assert empty.num_rows == 0 and empty.schema.equals(tables.signals(rows).schema, check_metadata=True)
    # pandas reads an empty part with the dtypes of a full one
    assert empty.to_pandas().dtypes.to_dict() == tables.signals(rows).to_pandas().dtypes.to_dict()


def test_quality_table_equals_the_pandas_table():
    import datetime as dt

    rows = [{"session_date": dt.date(2024, 12, 2), "symbol": s, "interval": iv, "expected": 390,
             "present": 388 - k, "quality_pct": 100.0 * (388 - k) / 390, "gaps": k, "missing": 2 + k}
            for k, (s, iv) in enumerate([("AAA", "1m"), ("AAA", "5m"), ("BBB", "1m"), ("BBB", "5m")])]
    tables = PartTables()
    for part in (rows, rows[1:], rows[:1]):
        _assert_same(tables.quality(part), pd.DataFrame(part))


def test_orders_table_from_final_order_records_equals_the_snapshots_table():
    """Session parts read the broker's final order records directly (no Order snapshot per order)."""
    from workstation.execution.broker import _OrderState

    def state(k: int, **kw) -> _OrderState:
        base = dict(id=k, symbol_index=k % 3, symbol=f"S{k % 3}", quantity=100.0 if k % 2 else -50.0,
                    order_type=OrderType.MARKET, limit_price=None, stop_price=None, trail_amount=None,
                    trail_percent=None, tif=TimeInForce.DAY, status=OrderStatus.FILLED,
                    submitted_at=1_700_000_000_000_000_000 + k, status_time=1_700_000_000_000_000_000 + 2 * k,
                    strategy="sma", filled=100.0 if k % 2 else -50.0, fill_value=1025.5 * (k + 1))
        base.update(kw)
        return _OrderState(**base)

    states = [state(1), state(2, order_type=OrderType.LIMIT, limit_price=9.5, status=OrderStatus.CANCELLED,
                                filled=0.0, fill_value=0.0, reason="cancelled", tag="t", oco_group=3),
              state(3, order_type=OrderType.TRAILING_STOP, stop_price=9.0, trail_percent=1.5, parent_id=2,
                    role=OrderRole.STOP_LOSS, tif=TimeInForce.GTC, status=OrderStatus.EXPIRED, filled=-20.0,
                    fill_value=190.0)]
    tables = PartTables()
    for rows in (states, states[1:], []):
        _assert_same(tables.order_states(rows), orders_frame([st.snapshot() for st in rows]))
    # the same schema cache serves snapshots and records
    _assert_same(tables.orders([st.snapshot() for st in states]), orders_frame([st.snapshot() for st in states]))


def test_gaps_table_equals_the_pandas_table():
    import datetime as dt

    rows = [{"session_date": dt.date(2024, 12, 2), "symbol": s, "interval": iv, "start": 1_733_150_000_000_000_000 + k,
             "end": 1_733_150_060_000_000_000 + k, "missing": k + 1, "status": status}
            for k, (s, iv, status) in enumerate([("AAA", "1m", "open"), ("BBB", "5m", "filled"),
                                                 ("ÄÖÜ", "1m", "known_empty")])]
    tables = PartTables()
    for part in (rows, rows[1:], rows[:1]):
        _assert_same(tables.gaps(part), gaps_frame(part))


def test_session_bars_table_equals_pyarrows_own_arrays_nan_kept():
    """bars.parquet: dictionary-decoded names, UTC times and prices with NaN kept as a value (as
    `pa.array` of a numpy array keeps it), built without pyarrow's pandas-importing constructors."""
    from workstation.session import BarsView

    ts = np.array([1_733_150_000_000_000_000, 1_733_150_060_000_000_000], dtype=np.int64)
    view = BarsView(ts, np.array([1.0, np.nan]), np.array([2.0, 3.0]), np.array([0.5, 0.25]), np.array([1.5, 2.5]),
                    np.array([100.0, 0.0]))
    bars = {("AAA", "1m"): view, ("BBB", "1m"): view, ("BBB", "5m"): BarsView(ts[:1], *(np.ones(1),) * 5)}
    table = session_bars_table(["AAA", "BBB"], ["1m", "5m"], bars)
    expected = pa.table({
        "symbol": pa.array(["AAA", "AAA", "BBB", "BBB", "BBB"]), "interval": pa.array(["1m"] * 4 + ["5m"]),
        "timestamp": pa.array(np.concatenate([ts, ts, ts[:1]]), type=pa.timestamp("ns", tz="UTC")),
        **{c: pa.array(np.concatenate([getattr(view, c), getattr(view, c), np.ones(1)]))
           for c in ("open", "high", "low", "close", "volume")}})
    assert table.schema.equals(expected.schema, check_metadata=True)
    for name in expected.column_names:      # (Arrow's equals holds NaN unequal to itself)
        assert table.column(name).to_pylist().__repr__() == expected.column(name).to_pylist().__repr__(), name
    assert table.column("open").null_count == 0 and math.isnan(table.column("open")[1].as_py())


def test_signals_table_of_decision_batches_equals_the_table_of_their_rows():
    """The writer keeps the "decisions" events' DecisionBatches as they are and reads a batch of
    signals column by column: the part must equal the table of the rows `rows()` gives, in order,
    with error rows and batches of Decision objects between them."""
    from workstation.model.batches import DecisionBatch, SignalBatch
    from workstation.model.trading import Action, Decision, Signal

    symbols = ("AAA", "BBB", "CCC")
    t0 = 1_700_000_000_000_000_000
    lists = DecisionBatch(SignalBatch("sma", t0, symbols, [2, 0], (Action.BUY, Action.SELL), [100, 50.0],
                                      [10.5, float("nan")], [1.0, 0.25]), (True, False), ("", "confidence 0.25"))
    arrays = DecisionBatch(SignalBatch("rsi", t0 + 60, symbols, np.array([1, 1, 0]),
                                       (Action.CLOSE, Action.BUY, Action.SELL), np.array([10.0, 20.0, 30.0]),
                                       np.array([1.5, 2.5, 3.5]), np.array([0.5, 0.75, 1.0])),
                           (False, True, True), ("no position", "", ""))
    objects = DecisionBatch.of(Decision(Signal("BBB", Action.BUY, 5.0, 9.75, t0 + 120, "hand"), True, "", "order", 7))
    error = (t0 + 180, "", "engine", "ERROR", 0.0, float("nan"), 0.0, False, "boom", "error")
    empty = DecisionBatch.of()
    entries = [lists, error, objects, arrays, empty, lists]
    rows = [row for e in entries for row in ([e] if isinstance(e, tuple) else e.rows())]
    tables = PartTables()
    _assert_same(tables.signals(entries), _signals_frame(rows))
    assert tables.signals(entries).equals(tables.signals(rows))
