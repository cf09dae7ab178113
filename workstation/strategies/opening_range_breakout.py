"""Built-in opening-range breakout: stop entries on both sides of the first minutes' range, bracketed.

Per symbol and session:
1. the range is the high and low of the bars that start in the first `range_minutes` after the regular
   open (in extended hours the pre-market bars are not part of it);
2. when the range is complete (at the end of its last bar, or at the first later bar when that bar
   is missing), two bracket orders go out, linked one-cancels-other: a buy stop at the range high
   with its stop loss at the range low, and a sell stop at the range low with its stop loss at the
   range high; each takes profit at `reward_risk` x the range from its entry. Size: `quantity`, or
   with `risk_per_trade` the shares that lose that amount from entry to stop (rounded down to
   `lot_size`);
3. at most one trade a day: the filled side's exits end it, the other side is cancelled by the OCO;
4. `flat_minutes_before_close` before the close (early closes included) every open order of the
   symbol is cancelled and a position still open is closed with a market order. A symbol with no bar
   at or after that time (its data stopped early) is closed so at the next session's first bar.

Vectorised over the symbols of a bar time; Python runs only for symbols whose range completes or
that go flat. Works on any intraday interval (minutes counted from the session open).
"""

from __future__ import annotations

import math

import numpy as np

from workstation.strategies.base import BaseStrategy, StrategyContext

_MINUTE_NS = 60_000_000_000
BUILDING, ARMED, DONE = 0, 1, 2


class OpeningRangeBreakout(BaseStrategy):
    """Opening-range breakout with bracketed stop entries; see the module docstring."""

    def __init__(self, name: str, symbols, interval: str, range_minutes: int = 15, reward_risk: float = 2.0,
                 quantity: float = 100, risk_per_trade: float | None = None, lot_size: float = 1,
                 flat_minutes_before_close: int = 5, long: bool = True, short: bool = True, tif: str = "day",
                 min_range_pct: float = 0.0):
        super().__init__(name, symbols, interval, range_minutes=range_minutes, reward_risk=reward_risk,
                         quantity=quantity, risk_per_trade=risk_per_trade, lot_size=lot_size,
                         flat_minutes_before_close=flat_minutes_before_close, long=long, short=short, tif=tif,
                         min_range_pct=min_range_pct)
        from workstation.model import parse_interval

        step = parse_interval(interval)
        if not step.is_intraday:
            raise ValueError(f"interval must be intraday, got {interval!r}")
        if int(range_minutes) <= 0:
            raise ValueError(f"range_minutes must be positive, got {range_minutes}")
        if not math.isfinite(float(reward_risk)) or float(reward_risk) <= 0:
            raise ValueError(f"reward_risk must be a positive number, got {reward_risk}")
        if risk_per_trade is None and not float(quantity) > 0:
            raise ValueError(f"quantity must be positive, got {quantity}")
        if risk_per_trade is not None and not float(risk_per_trade) > 0:
            raise ValueError(f"risk_per_trade must be positive, got {risk_per_trade}")
        if not float(lot_size) > 0:
            raise ValueError(f"lot_size must be positive, got {lot_size}")
        if int(flat_minutes_before_close) * _MINUTE_NS < step.ns:
            raise ValueError(f"flat_minutes_before_close ({flat_minutes_before_close}) must leave at least one "
                             f"{interval} bar for the closing market order to fill")
        if not (long or short):
            raise ValueError("long and short are both off: nothing to trade")
        if tif not in ("day", "gtc"):
            raise ValueError(f"tif must be 'day' or 'gtc', got {tif!r}")
        self.range_ns = int(range_minutes) * _MINUTE_NS
        self.step_ns = step.ns
        self.reward_risk = float(reward_risk)
        self.quantity = float(quantity)
        self.risk_per_trade = float(risk_per_trade) if risk_per_trade is not None else None
        self.lot_size = float(lot_size)
        self.flat_ns = int(flat_minutes_before_close) * _MINUTE_NS
        self.long, self.short, self.tif = bool(long), bool(short), tif
        self.min_range_pct = float(min_range_pct)
        self._high = np.zeros(0)
        self._low = np.zeros(0)
        self._state = np.zeros(0, dtype=np.int8)

    def on_start(self, ctx: StrategyContext) -> None:
        n = len(ctx.symbols)
        self._high = np.full(n, -np.inf)
        self._low = np.full(n, np.inf)
        self._state = np.full(n, DONE, dtype=np.int8)

    def on_session_start(self, ctx: StrategyContext, session_date) -> None:
        # armed in the last session but never at its flat time: its data stopped before (a feed that
        # ends early, a thin symbol's last trade at 14:59), so a position or order of that session may
        # still be open, unprotected (the bracket's day exits expired): closed at this session's first bar
        for i in np.flatnonzero(self._state == ARMED).tolist():
            ctx.close_position(ctx.symbols[i], tag="flat: no bar at the last session's flat time")
        self._high[:] = -np.inf
        self._low[:] = np.inf
        self._state[:] = BUILDING

    def on_bars(self, ctx: StrategyContext, sym_idx: np.ndarray):
        session = ctx.session
        if session is None:
            return None
        state = self._state[sym_idx]
        live = state != DONE
        if not live.any():
            return None
        idx = sym_idx[live]
        state = state[live]
        bars = ctx.session_data.latest_bars(idx, self.interval)
        ends = bars.timestamp + self.step_ns
        range_end = session.open_ns + self.range_ns
        # from the regular open: pre-market bars (extended hours) are not part of the opening range
        in_range = (state == BUILDING) & (bars.timestamp >= session.open_ns) & (bars.timestamp < range_end)
        if in_range.any():
            k = idx[in_range]
            self._high[k] = np.fmax(self._high[k], bars.high[in_range])
            self._low[k] = np.fmin(self._low[k], bars.low[in_range])
        flat_due = ends >= session.close_ns - self.flat_ns
        arm = (state == BUILDING) & (ends >= range_end) & ~flat_due
        for i in idx[arm].tolist():
            self._arm(ctx, i)
        for i in idx[flat_due].tolist():
            self._state[i] = DONE
            ctx.close_position(ctx.symbols[i], tag="flat before close")
        return None

    def _arm(self, ctx: StrategyContext, i: int) -> None:
        self._state[i] = ARMED
        high, low = float(self._high[i]), float(self._low[i])
        if not (math.isfinite(high) and math.isfinite(low)) or high <= low:
            self._state[i] = DONE
            return
        width = high - low
        if width / high * 100.0 < self.min_range_pct:
            self._state[i] = DONE
            return
        symbol = ctx.symbols[i]
        if self.risk_per_trade is not None:
            size = ctx.size_by_risk(self.risk_per_trade, high, low, self.lot_size)
        else:
            size = ctx.size_fixed(self.quantity, self.lot_size)
        if size <= 0:
            self._state[i] = DONE
            return
        ids = []
        if self.long:
            ids.append(ctx.submit_order(symbol, size, "stop", stop_price=high, tif=self.tif, stop_loss=low,
                                        take_profit=high + self.reward_risk * width, tag="orb long"))
        target = low - self.reward_risk * width
        if self.short and target > 0:
            ids.append(ctx.submit_order(symbol, -size, "stop", stop_price=low, tif=self.tif, stop_loss=high,
                                        take_profit=target, tag="orb short"))
        working = [oid for oid in ids if (order := ctx.order(oid)) is not None and order.is_open]
        if len(working) == 2:
            ctx.one_cancels_other(working)
        if not working:
            self._state[i] = DONE
