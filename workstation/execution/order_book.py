"""The working orders of the broker as arrays (struct of arrays), for vectorised matching per bar time.

One slot per open order; slots of final orders are reused (free list), so the arrays stay as long
as the largest number of orders open at once, not the number of orders of the run. Per bar time,
`candidates` selects with a few numpy operations the slots of ACTIVE orders whose symbol has a bar
now and that were submitted before this bar time (eligible on the symbol's next bar, never on the
bar they were made on). Not thread-safe: owned by the broker's thread.
"""

from __future__ import annotations

import numpy as np

_INITIAL_SLOTS = 64
_COMPLEX_CODES = (0, 3)      # market (a partly filled stop's rest) and stop-limit: the general fill test
_NEUTRAL_CODE = 1


class OrderBookArrays:
    """Slots of open orders: symbol, type code, side, prices, trailing settings, eligibility."""

    def __init__(self, n_symbols: int) -> None:
        self.n_symbols = n_symbols
        self._row_of_symbol = np.full(n_symbols, -1, dtype=np.int64)
        self._alloc(_INITIAL_SLOTS)
        self.high_water = 0          # slots [0, high_water) may be in use
        self._free: list[int] = []
        self.active_count = 0
        self._reserved_sum = 0.0     # running sum of `reserved` (the exact sum: reserved_total(exact=True))
        self.complex_count = 0       # open slots of code MARKET or STOP_LIMIT (outside the fast fill test)

    def _alloc(self, cap: int) -> None:
        self.symbol = np.zeros(cap, dtype=np.int64)
        self.code = np.full(cap, _NEUTRAL_CODE, dtype=np.int8)   # free slots: a code outside complex_count
        self.buy = np.zeros(cap, dtype=bool)
        self.limit = np.full(cap, np.nan)
        self.stop = np.full(cap, np.nan)
        self.trail_amount = np.zeros(cap)
        self.trail_fraction = np.zeros(cap)
        self.after = np.zeros(cap, dtype=np.int64)       # eligible on bars starting after this (ns)
        self.active = np.zeros(cap, dtype=bool)          # working (not held, not final)
        self.triggered = np.zeros(cap, dtype=bool)       # stop-limit: stop reached
        self.order_id = np.zeros(cap, dtype=np.int64)
        self.reserved = np.zeros(cap)                    # buying power held back (currency)
        self.day = np.zeros(cap, dtype=bool)             # time in force "day"
        # the price a bar must reach for a limit or stop order to fill, and whether the bar's low (else
        # its high) is what reaches it: buy limit and sell stop look at the low
        self.level = np.full(cap, np.nan)
        self.use_low = np.zeros(cap, dtype=bool)

    def _grow(self) -> None:
        old = len(self.symbol)
        arrays = {name: getattr(self, name) for name in ("symbol", "code", "buy", "limit", "stop", "trail_amount",
                                                         "trail_fraction", "after", "active", "triggered",
                                                         "order_id", "reserved", "day", "level", "use_low")}
        self._alloc(old * 2)
        for name, arr in arrays.items():
            getattr(self, name)[:old] = arr

    # ------------------------------------------------------------------ slots
    def take_slot(self) -> int:
        if self._free:
            return self._free.pop()
        if self.high_water == len(self.symbol):
            self._grow()
        slot = self.high_water
        self.high_water += 1
        return slot

    def set_code(self, slot: int, code: int) -> None:
        """The slot's order type code (fill_model constants), keeping `complex_count`."""
        if self.code.item(slot) in _COMPLEX_CODES:
            self.complex_count -= 1
        self.code[slot] = code
        if code in _COMPLEX_CODES:
            self.complex_count += 1

    def set_prices(self, slot: int, limit: float | None, stop: float | None) -> None:
        """The slot's limit and stop prices, and the level and side of the bar its fill test reads."""
        self._prices(slot, self.code.item(slot), self.buy.item(slot), limit, stop)

    def _prices(self, slot: int, code: int, buy: bool, limit: float | None, stop: float | None) -> None:
        limit_value = limit if limit is not None else np.nan
        stop_value = stop if stop is not None else np.nan
        self.limit[slot] = limit_value
        self.stop[slot] = stop_value
        if code == 1:                       # limit
            self.level[slot] = limit_value
            self.use_low[slot] = buy
        else:                               # stop, trailing stop (stop-limit: its trigger)
            self.level[slot] = stop_value
            self.use_low[slot] = not buy

    def fill_slot(self, slot: int, symbol: int, code: int, buy: bool, order_id: int, limit: float | None,
                  stop: float | None, trail_amount: float, trail_fraction: float, after: int, day: bool,
                  active: bool) -> None:
        """Write a new order into a free slot (one call instead of one per field)."""
        self.symbol[slot] = symbol
        self.buy[slot] = buy
        self.order_id[slot] = order_id
        self.code[slot] = code              # a free slot holds the neutral code
        if code in _COMPLEX_CODES:
            self.complex_count += 1
        self._prices(slot, code, buy, limit, stop)
        if trail_amount or trail_fraction or self.trail_amount.item(slot) or self.trail_fraction.item(slot):
            self.trail_amount[slot] = trail_amount
            self.trail_fraction[slot] = trail_fraction
        self.after[slot] = after
        self.day[slot] = day
        if active:
            self.active[slot] = True
            self.active_count += 1

    def release(self, slot: int) -> None:
        if self.code.item(slot) in _COMPLEX_CODES:
            self.complex_count -= 1
        self.code[slot] = _NEUTRAL_CODE
        if self.active.item(slot):
            self.active_count -= 1
            self.active[slot] = False
        if self.triggered.item(slot):
            self.triggered[slot] = False
        if self.reserved.item(slot):
            self.set_reserved(slot, 0.0)
        self.order_id[slot] = 0
        self._free.append(slot)

    def set_active(self, slot: int, active: bool) -> None:
        if self.active.item(slot) != active:
            self.active_count += 1 if active else -1
            self.active[slot] = active

    def set_reserved(self, slot: int, amount: float) -> None:
        """Buying power held back by the order in `slot` (currency)."""
        self._reserved_sum += amount - self.reserved.item(slot)
        self.reserved[slot] = amount

    def reserved_total(self, exact: bool = False) -> float:
        """Buying power held back by every open order (exact: summed again, without running rounding)."""
        if exact:
            return float(self.reserved[: self.high_water].sum()) if self.high_water else 0.0
        if self.active_count == 0 and self._reserved_sum != 0.0:
            self._reserved_sum = float(self.reserved[: self.high_water].sum())
        return self._reserved_sum

    # ------------------------------------------------------------------ per bar time
    def candidates(self, ts_ns: int, sym_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slots, rows): active slots whose symbol has a bar in `sym_idx` at `ts_ns` and that were
        submitted before it; `rows` are their positions in `sym_idx`. Ordered by slot."""
        n = self.high_water
        rows_of = self._row_of_symbol
        rows_of[sym_idx] = np.arange(sym_idx.shape[0], dtype=np.int64)
        try:
            rows = rows_of[self.symbol[:n]]
            mask = self.active[:n] & (rows >= 0) & (self.after[:n] < ts_ns)
            slots = np.flatnonzero(mask)
            return slots, rows[slots]
        finally:
            rows_of[sym_idx] = -1
