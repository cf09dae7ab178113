"""SimulatedBroker books the mutation run of broker.py found untested: the fills list, open
positions' unrealized P&L (long and short), and the messages of bad arguments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workstation.config.models import ExecutionConfig
from workstation.execution.broker import SimulatedBroker

MIN = 60_000_000_000
T0 = int(pd.Timestamp("2024-01-02 14:30", tz="UTC").value)


def _bar(broker, ts, rows):
    idx = np.array([broker.index_of(s) for s in rows], dtype=np.int64)
    return broker.on_bar_time(ts, idx, np.array([v[0] for v in rows.values()]), np.array([v[1] for v in rows.values()]))


def test_fills_are_kept_in_order_with_their_bar_and_price():
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(slippage_bps=10, allow_short=True))
    _bar(b, T0, {"AAA": (10.0, 10.0), "BBB": (20.0, 20.0)})
    b.submit(0, 100, T0, "s", 10.0)
    b.submit(1, -50, T0, "t", 20.0)
    _bar(b, T0 + MIN, {"AAA": (11.0, 11.5), "BBB": (21.0, 21.0)})
    fills = b.fills
    assert [(f.symbol, f.quantity, f.time) for f in fills] == [("AAA", 100, T0 + MIN), ("BBB", -50, T0 + MIN)]
    assert fills[0].price == pytest.approx(11.0 * 1.001) and fills[1].price == pytest.approx(21.0 * 0.999)


def test_open_positions_value_unrealized_pnl_at_the_last_close():
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(allow_short=True))
    _bar(b, T0, {"AAA": (10.0, 10.0), "BBB": (20.0, 20.0)})
    b.submit(0, 100, T0, "s", 10.0)
    b.submit(1, -50, T0, "s", 20.0)
    _bar(b, T0 + MIN, {"AAA": (10.0, 12.0), "BBB": (20.0, 18.0)})
    long_, short = b.open_positions()
    assert (long_.symbol, long_.quantity, long_.last_price) == ("AAA", 100, 12.0)
    assert long_.unrealized_pnl == pytest.approx(200.0)
    assert (short.symbol, short.quantity) == ("BBB", -50) and short.unrealized_pnl == pytest.approx(100.0)
    assert b.unrealized_pnl() == pytest.approx(300.0)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"duplicated: \['AAA'\]"):
        SimulatedBroker(["AAA", "BBB", "AAA"])
    b = SimulatedBroker(["AAA", "BBB"], ExecutionConfig(fill_rule="close"))
    with pytest.raises(IndexError, match=r"symbol_index 2 outside 0\.\.1"):
        b.submit(2, 10, T0, "s", 10.0)
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="price_hint for AAA must be a positive price"):
            b.submit(0, 10, T0, "s", bad)
