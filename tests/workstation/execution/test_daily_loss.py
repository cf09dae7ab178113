"""risk.max_daily_loss: once the equity, marked at a bar time's closes, is the limit below its value at
the session's start, every working order is cancelled, every position closed at market, and every order
refused, the trader's hand orders too, until the session ends; the next session trades again.

Made-up bars (one symbol, flat at 100 until 10:00, then 5 cents lower each minute on the first day;
flat the next day), no costs: the expectations are worked out from the bars with pandas, not from the
engine: the entry fills at the 09:31 open, the limit is reached at the first bar whose close is
limit / quantity below it, the closing order fills at the next bar's open."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.integration.runhelpers import store_from_frame
from workstation.config import validate_config_dict
from workstation.execution.manual import MANUAL, SubmitOrder
from workstation.run_writer import RunWriter
from workstation.store import BarStore
from workstation.system import SystemManager

ZONE = "America/New_York"
DAYS = ("2024-12-02", "2024-12-03")
QTY = 10
LIMIT = 20.0
STRATEGY = "tests.workstation.execution.close_strategies:EnterAndWork"


def _frame() -> pd.DataFrame:
    rows = []
    for d, day in enumerate(DAYS):
        stamps = pd.date_range(f"{day} 09:30", f"{day} 15:59", freq="1min", tz=ZONE)
        after_ten = np.maximum(0, (stamps - pd.Timestamp(f"{day} 10:00", tz=ZONE)) // pd.Timedelta("1min") + 1)
        close = np.where(d == 0, 100.0 - 0.05 * after_ten, 100.0)
        opens = np.concatenate([[100.0], close[:-1]])
        rows.append(pd.DataFrame({"symbol": "AAA", "timestamp": stamps.tz_convert("UTC").as_unit("ns"),
                                  "open": opens, "high": np.maximum(opens, close), "low": np.minimum(opens, close),
                                  "close": close, "volume": 1000.0}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def made_up(tmp_path_factory) -> tuple[BarStore, pd.DataFrame]:
    frame = _frame()
    return store_from_frame(frame, tmp_path_factory.mktemp("daily_loss") / "store"), frame


def _run(store: BarStore, limit: float | None, hand=(), flatten: int | None = None, late: int = 90,
         run_dir=None) -> SystemManager:
    cfg = validate_config_dict({
        "name": "daily loss limit", "symbols": ["AAA"],
        "streams": {"interval": "1m", "derived": [], "indicators": []},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": [], "enable_quality": False},
        "backtest": {"start_date": DAYS[0], "end_date": DAYS[-1], "speed_multiplier": 0},
        "strategies": [{"name": "enter", "class_path": STRATEGY, "params": {"quantity": QTY, "late_after_min": late}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 10_000, "max_daily_loss": limit,
                 "flatten_before_close_minutes": flatten},
        "execution": {"starting_cash": 100_000, "slippage_bps": 0, "commission_per_share": 0,
                      "commission_min": 0},
    })
    system = SystemManager(cfg, store=store)
    system.manual_orders.schedule(list(hand))
    writer = RunWriter(system, run_dir) if run_dir is not None else None
    system.start()
    assert system.wait(120) and system.error is None, system.error
    if writer is not None:
        assert writer.wait_closed(30)
    return system


def _ns(day: str, hm: str) -> int:
    return int(pd.Timestamp(f"{day} {hm}", tz=ZONE).value)


def _expected(frame: pd.DataFrame) -> tuple[int, int, float, float]:
    """(halt bar start, closing fill's bar start, entry price, closing price) of the first day."""
    day = frame[frame["timestamp"] < pd.Timestamp(DAYS[1], tz=ZONE)].reset_index(drop=True)
    starts = pd.DatetimeIndex(day["timestamp"]).as_unit("ns").asi8
    entry = float(day.loc[starts == _ns(DAYS[0], "09:31"), "open"].iloc[0])
    held = starts >= _ns(DAYS[0], "09:31")
    loss = QTY * (entry - day["close"].to_numpy())
    k = int(np.flatnonzero(held & (loss >= LIMIT))[0])
    return int(starts[k]), int(starts[k + 1]), entry, float(day["open"].iloc[k + 1])


def test_the_limit_closes_everything_and_stops_the_session(made_up):
    store, frame = made_up
    halt, fill_at, entry, exit_price = _expected(frame)
    assert pd.Timestamp(halt, tz="UTC").tz_convert(ZONE).strftime("%H:%M") == "10:39"   # (the made-up path: 50 cents a minute)
    hand_at = _ns(DAYS[0], "11:00")
    system = _run(store, LIMIT, hand=[(hand_at, SubmitOrder("AAA", 5))])
    broker = system.broker
    (closing,) = [o for o in broker.orders() if o.tag == "daily loss limit"]
    assert (closing.quantity, closing.strategy, closing.status.value) == (-QTY, "enter", "filled")
    assert closing.submitted_at == halt + 60_000_000_000                 # the clock at the halt bar time's end
    fills = [(f.time, f.quantity, f.price) for f in broker.fills if f.time < _ns(DAYS[1], "00:00")]
    assert fills == [(_ns(DAYS[0], "09:31"), QTY, entry), (fill_at, -QTY, exit_price)]
    reason = "daily loss limit: trading stopped for the session at a loss of 20.00 (risk.max_daily_loss 20.00)"
    st = system.strategies[0]
    # the bracket's exits (the second with its group) and the GTC limit were cancelled then
    cancelled = [o for o in broker.orders() if o.status.value == "cancelled" and o.status_time == closing.submitted_at]
    assert len(cancelled) == 3 and {(o.id, o.reason) for o in cancelled} <= set(st.cancelled)
    assert [o.reason for o in cancelled].count("cancelled: daily loss limit") == 2
    # after it: the strategy's late order (11:00) and the trader's hand order are refused with the reason
    late = [o for o in broker.orders() if o.strategy == "enter" and o.quantity == 1]
    assert [(o.status.value, o.reason) for o in late] == [("rejected", reason), ("filled", "")]
    (hand,) = [o for o in broker.orders() if o.strategy == MANUAL]
    assert (hand.status.value, hand.reason) == ("rejected", reason)
    # the next session trades again: its entry, late order and signal fill
    day2 = [(f.time, f.quantity) for f in broker.fills if f.time >= _ns(DAYS[1], "00:00")]
    assert day2 == [(_ns(DAYS[1], "09:31"), QTY), (_ns(DAYS[1], "11:00"), 1), (_ns(DAYS[1], "11:00"), 2)]
    assert system.analysis.rejected_count == 3          # the late order, the BUY signal and the hand order


def test_without_the_limit_the_loss_runs(made_up):
    store, _ = made_up
    system = _run(store, None)
    assert not [o for o in system.broker.orders() if o.tag == "daily loss limit"]
    assert system.broker.position("AAA") == 2 * (QTY + 1 + 2)          # entry, late order, BUY signal of 2


def test_the_limit_is_reached_at_a_loss_equal_to_it_not_short_of_it(made_up):
    """With the entry alone (no late orders) the day's worst loss is at its last bar: a limit a cent above
    it is never reached, a limit equal to it is, at that bar."""
    store, frame = made_up
    day = frame[frame["timestamp"] < pd.Timestamp(DAYS[1], tz=ZONE)]
    worst = QTY * (100.0 - day["close"].min())
    system = _run(store, worst + 0.01, late=10_000)
    assert not [o for o in system.broker.orders() if o.tag == "daily loss limit"]
    system = _run(store, worst, late=10_000)
    (closing,) = [o for o in system.broker.orders() if o.tag == "daily loss limit"]
    assert closing.submitted_at == _ns(DAYS[0], "16:00")               # after the 15:59 bar


def test_with_the_session_close_rule_a_position_gets_one_closing_order(made_up, tmp_path):
    """Both rules on: the loss limit closes first; the session-close rule finds nothing to do, and a late
    order and signal (15:55) are refused for the loss, which stopped the session, not for the close."""
    store, _ = made_up
    system = _run(store, LIMIT, flatten=10, late=385, run_dir=tmp_path / "run")
    closing = [o for o in system.broker.orders() if o.tag in ("daily loss limit", "session close")]
    assert [(o.tag, o.status.value) for o in closing if o.submitted_at < _ns(DAYS[1], "00:00")] == [
        ("daily loss limit", "filled")]
    late = [o for o in system.broker.orders() if o.strategy == "enter" and o.quantity == 1]
    assert [o.reason.split(":")[0] for o in late] == ["daily loss limit", "session closing"]
    signals = pd.read_parquet(tmp_path / "run" / "signals.parquet")
    refused = signals[(signals["kind"] == "signal") & ~signals["approved"]]
    assert [r.split(":")[0] for r in refused["reason"]] == ["daily loss limit", "session closing"]
    assert system.broker.position("AAA") == 0                         # day 2 flat by its close


def test_the_limit_must_be_positive():
    from workstation.errors import ConfigError

    with pytest.raises(ConfigError, match="max_daily_loss"):
        validate_config_dict({"name": "x", "symbols": ["AAA"], "risk": {"max_daily_loss": 0},
                              "strategies": [{"name": "s", "class_path": "sma_crossover"}]})
