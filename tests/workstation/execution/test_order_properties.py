"""Properties of the order model on randomized runs (hypothesis draws the seed and the account).

Each example drives the broker over random gapped bars of three symbols with random orders of every
type (brackets, OCO groups, cancels, modifies) and checks, independently of the broker's own books:
- no order fills on the bar time it was submitted in (it is first tested on the symbol's next bar);
- every fill price lies within the fill bar's [low, high] (no slippage in these runs);
- the two exits of a bracket never both fill (with a participation limit: never more than the entry);
- equity at every bar time = cash + positions at the closes, rebuilt from the fills and the bars;
- a rejected order changes nothing (cash, positions, buying power, fills, open orders);
- with execution.cancel_orphan_exits (and no participation limit, so that every fill is a whole order) a
  bracket exit's fill never opens a position or takes one past flat, whatever else reduced it before.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workstation.config.models import ExecutionConfig
from workstation.execution import InvalidOrder, OrderRefused, SimulatedBroker, make_request

MIN = 60_000_000_000
T0 = int(pd.Timestamp("2024-03-04 14:30", tz="UTC").value)
SYMBOLS = ["AAA", "BBB", "CCC"]
SESSION_BARS = 120


def random_bars(rng: np.random.Generator, n_times: int):
    price = rng.uniform(20, 200, len(SYMBOLS))
    for k in range(n_times):
        present = np.flatnonzero(rng.random(len(SYMBOLS)) < 0.85).astype(np.int64)
        gap = rng.random() < 0.05
        o = np.round(price * np.exp(rng.normal(0, 0.01 if gap else 0.001, len(SYMBOLS))), 2)
        c = np.round(o * np.exp(rng.normal(0, 0.003, len(SYMBOLS))), 2)
        h = np.round(np.maximum(o, c) * (1 + rng.uniform(0, 0.004, len(SYMBOLS))), 2)
        lo = np.round(np.minimum(o, c) * (1 - rng.uniform(0, 0.004, len(SYMBOLS))), 2)
        v = np.round(rng.uniform(100, 5000, len(SYMBOLS)))
        price = c
        yield k, present, o[present], h[present], lo[present], c[present], v[present]


def random_request(rng: np.random.Generator, symbol: str, close: float, position: float):
    kind = rng.choice(["market", "limit", "stop", "stop_limit", "trailing_stop", "bracket", "exit"])
    side = 1 if rng.random() < 0.5 else -1
    qty = side * float(rng.choice([10, 50, 100, 400]))
    d = max(0.01, round(close * rng.uniform(0.0005, 0.006), 2))
    tif = str(rng.choice(["day", "gtc"]))
    if kind == "exit" and position:
        return make_request(symbol, -position, "limit", limit_price=round(close + np.sign(position) * d, 2), tif=tif)
    if kind == "limit":
        return make_request(symbol, qty, "limit", limit_price=round(close - side * d * rng.uniform(-1, 2), 2), tif=tif)
    if kind == "stop":
        return make_request(symbol, qty, "stop", stop_price=round(close + side * d * rng.uniform(-1, 2), 2), tif=tif)
    if kind == "stop_limit":
        stop = round(close + side * d, 2)
        return make_request(symbol, qty, "stop_limit", stop_price=stop,
                            limit_price=round(stop + side * d * rng.uniform(-1, 1), 2) or 0.01, tif=tif)
    if kind == "trailing_stop":
        if rng.random() < 0.5:
            return make_request(symbol, qty, "trailing_stop", trail_amount=d, tif=tif)
        return make_request(symbol, qty, "trailing_stop", trail_percent=float(rng.choice([0.1, 0.5])), tif=tif)
    if kind == "bracket":
        return make_request(symbol, qty, "market", tif=tif, stop_loss=round(close - side * 2 * d, 2),
                            take_profit=round(close + side * 2 * d, 2))
    return make_request(symbol, qty, "market", tif=tif)


def state(b: SimulatedBroker) -> tuple:
    return (b.cash, tuple(b.positions.tolist()), round(b.buying_power(), 9), len(b.fills), b.open_order_count,
            tuple(o.id for o in b.open_orders()), b.equity_curve().shape[0])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), allow_short=st.booleans(), margin=st.sampled_from([1.0, 2.0, 4.0]),
       participation=st.sampled_from([None, None, 20.0]), cash=st.sampled_from([20_000.0, 1e6]),
       commission=st.sampled_from([0.0, 0.005]), orphans=st.booleans())
def test_order_model_properties(seed, allow_short, margin, participation, cash, commission, orphans):
    rng = np.random.default_rng(seed)
    cfg = ExecutionConfig(starting_cash=cash, margin_multiplier=margin, allow_short=allow_short,
                          participation_limit_pct=participation, commission_per_share=commission,
                          cancel_orphan_exits=orphans)
    b = SimulatedBroker(SYMBOLS, cfg)
    submitted_at_bar: dict[int, int] = {}
    bar_ranges: dict[tuple[str, int], tuple[float, float]] = {}
    closes: dict[int, dict[int, float]] = {}
    rejected = 0
    for k, idx, o, h, lo, c, v in random_bars(rng, 3 * SESSION_BARS):
        ts = T0 + k * MIN + (k // SESSION_BARS) * 1000 * MIN
        for j, i in enumerate(idx.tolist()):
            bar_ranges[(SYMBOLS[i], ts)] = (lo[j], h[j])
        b.on_bar_time(ts, idx, o, c, h, lo, v)
        closes[ts] = dict(zip(idx.tolist(), c.tolist(), strict=True))
        for j, i in enumerate(idx.tolist()):
            if rng.random() > 0.08:
                continue
            symbol = SYMBOLS[i]
            action = rng.random()
            open_ids = [x.id for x in b.open_orders(symbol)]
            if action < 0.1 and open_ids:
                b.cancel_order(int(rng.choice(open_ids)), ts + MIN)
                continue
            if action < 0.15 and open_ids:
                target = b.order(int(rng.choice(open_ids)))
                if target.limit_price is not None:
                    try:
                        b.modify_order(target.id, ts + MIN, limit_price=round(target.limit_price * 1.001, 2))
                    except (InvalidOrder, OrderRefused):
                        pass
                continue
            if action < 0.2 and len(open_ids) >= 2:
                singles = [x.id for x in b.open_orders(symbol) if x.role.value in ("single", "entry")
                           and x.oco_group is None]
                if len(singles) >= 2:
                    b.one_cancels_other(singles[:2], ts + MIN)
                continue
            request = random_request(rng, symbol, float(c[j]), float(b.positions[i]))
            before = state(b)
            order = b.submit_order(request, "prop", ts + MIN)
            if order.status.value == "rejected":
                rejected += 1
                assert state(b) == before, "a rejected order changed the account"
            else:
                submitted_at_bar[order.id] = ts
                for child in range(order.id + 1, order.id + 3):
                    submitted_at_bar[child] = ts
        if (k + 1) % SESSION_BARS == 0:
            b.end_session(ts + MIN)

    fills = b.fills
    assert fills, "the run made no fill: nothing was checked"
    for f in fills:
        if f.order_id in submitted_at_bar:
            assert f.time > submitted_at_bar[f.order_id], f"order {f.order_id} filled on its submission bar"
        low, high = bar_ranges[(f.symbol, f.time)]
        assert low - 1e-9 <= f.price <= high + 1e-9, f"fill {f} outside [{low}, {high}]"

    orders = {o.id: o for o in b.orders()}
    for entry in (o for o in orders.values() if o.role.value == "entry"):
        exits = [o for o in orders.values() if o.parent_id == entry.id]
        filled = [abs(o.filled_quantity) for o in exits if o.filled_quantity]
        if participation is None:
            assert len(filled) <= 1, f"both exits of bracket {entry.id} filled"
        assert sum(filled) <= abs(entry.filled_quantity) + 1e-9

    if orphans and participation is None:
        position = dict.fromkeys(SYMBOLS, 0.0)
        for f in fills:
            before, position[f.symbol] = position[f.symbol], position[f.symbol] + f.quantity
            if orders[f.order_id].role.value in ("stop_loss", "take_profit"):
                assert before * f.quantity < 0 and abs(f.quantity) <= abs(before) + 1e-9, \
                    f"exit order {f.order_id} took {f.symbol} from {before} to {position[f.symbol]}"

    # equity rebuilt from the fills and the closes, independently of the broker's books
    curve = b.equity_curve()
    fills_by_time: dict[int, list] = {}
    for f in fills:
        fills_by_time.setdefault(f.time, []).append(f)
    cash_now, pos, last = cash, np.zeros(len(SYMBOLS)), np.zeros(len(SYMBOLS))
    for t, equity, cash_col, value in zip(curve["time"].astype("int64"), curve["equity"], curve["cash"],
                                          curve["positions_value"], strict=True):
        for f in fills_by_time.get(int(t), []):
            i = SYMBOLS.index(f.symbol)
            cash_now -= f.quantity * f.price + f.commission
            pos[i] += f.quantity
        for i, close in closes[int(t)].items():
            last[i] = close
        assert cash_col == pytest.approx(cash_now, rel=1e-9, abs=1e-6)
        assert equity == pytest.approx(cash_now + float(pos @ last), rel=1e-9, abs=1e-6)
        assert equity == pytest.approx(cash_col + value, rel=1e-12, abs=1e-9)
    assert not math.isnan(b.buying_power())
