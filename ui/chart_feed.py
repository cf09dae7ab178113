"""ChartFeed: feeds one ChartPanel from the EngineBridge (UI thread).

What a chart shows is the bridge's history of finished sessions plus the live session's bars, the
forming bar of a derived interval, buy/sell markers at fills, and the working orders and position of
its symbol as lines (from the bridge's folded order events and account snapshot); after the first load
only the bars the chart does not show yet are appended (by bar time), so a frame costs what arrived
since the last.
"""

from __future__ import annotations

import numpy as np

from ui.bridge import EngineBridge, UpdateBatch
from ui.widgets.chart import ChartPanel


class ChartFeed:
    """Feeds one ChartPanel from the bridge: history + live bars, forming bar of derived intervals,
    buy/sell markers at fills. Appends only what the chart does not show yet (by bar time)."""

    def __init__(self, panel: ChartPanel, bridge: EngineBridge):
        self.panel = panel
        self.bridge = bridge
        self._pending_ends: list = []  # finished sessions' bars of the shown key, not drawn yet
        self._pending_fills: list = []
        self._orders_dirty = False

    def key(self) -> tuple[str, str]:
        return self.panel.current_symbol(), self.panel.current_interval()

    def last_ts(self) -> int | None:
        chart = self.panel.chart
        return int(chart.bar_arrays()[0][-1]) if chart.bar_count else None

    def reload(self) -> None:
        """Show (symbol, interval) from scratch: history, live session, markers, forming bar."""
        chart = self.panel.chart
        chart.clear()
        chart.order_lines.clear()
        self._pending_ends.clear()
        self._pending_fills.clear()
        symbol, interval = self.key()
        if not symbol or not interval or not self.bridge.loaded:
            return
        bars = self.bridge.chart_bars(symbol, interval)
        chart.set_regular_hours(self.bridge.regular_hours())
        chart.set_closing_windows(self.bridge.closing_windows())
        chart.set_bars(*bars)
        chart.add_markers([(f.time, f.price, "buy" if f.quantity > 0 else "sell") for f in self.bridge.fills_of(symbol)])
        self.sync_forming(symbol, interval)
        self.sync_orders()
        self.sync_quotes(symbol, interval)

    def sync_orders(self) -> None:
        """Draw the working orders and the position of the chart's symbol as the bridge knows them now."""
        self._orders_dirty = False
        lines = self.panel.chart.order_lines
        symbol = self.panel.current_symbol()
        if not symbol or not self.bridge.loaded:
            lines.clear()
            return
        lines.set_orders(self.bridge.open_orders_of(symbol))
        lines.set_position(*self.bridge.position_of(symbol))

    def on_batch(self, batch: UpdateBatch, draw: bool = True) -> None:
        """Take the batch's finished sessions and fills of the shown symbol; draw them (and the
        live bars completed since the last draw, and the forming bar) when `draw`."""
        symbol, interval = self.key()
        if not symbol or not interval:
            return
        for end in batch.session_ends:
            view = end["bars"].get((symbol, interval))
            if view is not None:
                self._pending_ends.append(view)
        self._pending_fills.extend(f for f in batch.fills if f.symbol == symbol)
        if batch.account is not None or symbol in batch.order_symbols or (
                batch.orders and batch.orders_latest is None and any(c.symbol == symbol for c in batch.orders)):
            self._orders_dirty = True
        if draw:
            self.flush()

    def flush(self) -> None:
        """Draw what is pending: finished sessions, live bars, markers, forming bar."""
        symbol, interval = self.key()
        if not symbol or not interval:
            return
        for view in self._pending_ends:
            self._append(view)
        self._pending_ends.clear()
        live = self.bridge.live_bars(symbol, interval)
        if live is not None:
            self._append(live)
        chart = self.panel.chart
        if self._pending_fills:
            chart.add_markers([(f.time, f.price, "buy" if f.quantity > 0 else "sell") for f in self._pending_fills])
            self._pending_fills.clear()
        self.sync_forming(symbol, interval)
        if self._orders_dirty:
            self.sync_orders()
        self.sync_quotes(symbol, interval)

    def _append(self, view) -> None:
        """Append the bars of `view` after the chart's last one (by bar time), in one call."""
        ts = view.timestamp
        n = ts.shape[0]
        if not n:
            return
        last = self.last_ts()
        start = 0 if last is None else int(np.searchsorted(ts, last, side="right"))
        if start >= n:
            return
        self.panel.chart.append_bars(*(np.asarray(col)[start:] for col in view))

    def sync_quotes(self, symbol: str, interval: str) -> None:
        """The bid/ask band of the shown bars (streamed interval, runs that stream quote bars); only
        bars the chart shows get a value, so no quote past the clock is drawn."""
        chart = self.panel.chart
        n = chart.bar_count
        if n == len(chart.quote_band.bid):
            return
        band = self.bridge.quote_closes(symbol, interval, chart.bar_arrays()[0]) if n else None
        if band is None:
            if len(chart.quote_band.bid):
                chart.quote_band.clear()
            return
        chart.set_quote_band(*band)

    def sync_forming(self, symbol: str, interval: str) -> None:
        """Show the forming bar of a derived interval (or clear it when there is none)."""
        chart = self.panel.chart
        bridge = self.bridge
        if bridge.run_config is None or interval == bridge.run_config.streams.interval:
            return
        bar = bridge.forming_bar(symbol, interval)
        last = self.last_ts()
        if bar is not None and (last is None or bar.timestamp > last):
            chart.set_forming(bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume)
        elif chart.forming is not None:
            chart.clear_forming()
