"""HandTrading: routes the trader's hand orders from the trade bar, the hotkeys, the charts (context menu,
order lines) and the Orders & Positions panel to the EngineBridge, and the engine's answers back to
where the trader looks (the trade bar, the status bar; the signal log gets its rows from the engine).

No trading logic here: orders, risk checks, fills and rejections are the engine's (the same order model
as a strategy's, owner "manual"). This module only turns a click into an order ticket: the quantity and
side, the clicked or dragged price on the nearest tick (`execution.tick_size`, else the chart's
decimals: workstation.execution.ticks), and a bracket's stop loss / take profit at the trade bar's
distances from the entry, on a tick too (a market order's entry: the symbol's last close, the price the
engine values it at). A refused move of a dragged line puts the line back. UI thread only.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMenu

from ui.bridge import EngineBridge, UpdateBatch
from ui.widgets.chart import ChartPanel
from ui.widgets.chart.chart_actions import ChartPoint
from ui.widgets.chart.order_lines import order_label
from ui.widgets.trade_bar import TradeBar
from workstation.errors import WorkstationError
from workstation.execution.broker import ORPHAN_EXIT
from workstation.execution.manual import MANUAL, ModifyOrder, describe
from workstation.execution.orders import Order
from workstation.execution.ticks import price_step, snap_price, tick_decimals

log = logging.getLogger(__name__)

Report = Callable[[str, bool], None]   # (message, ok): the window's status bar
Confirm = Callable[[str, str, str, str], bool]   # (title, text, detail, accept): the window's yes/no question


def _qty(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


class HandTrading(QObject):
    """See the module docstring. `attach(panel)` for every chart panel; `on_batch` every frame."""

    def __init__(self, bridge: EngineBridge, trade_bar: TradeBar, report: Report | None = None,
                 parent: QObject | None = None, confirm: Confirm | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.trade_bar = trade_bar
        self.report = report or (lambda _text, _ok: None)
        self.confirm = confirm or (lambda _title, _text, _detail, _accept: True)
        self.panels: list[ChartPanel] = []
        self.last_answer: tuple[str, bool] | None = None
        trade_bar.buy_requested.connect(lambda: self.market(+1))
        trade_bar.sell_requested.connect(lambda: self.market(-1))
        trade_bar.flatten_requested.connect(lambda: self.flatten(self.trade_bar.symbol()))
        trade_bar.cancel_all_requested.connect(lambda: self.cancel_all(self.trade_bar.symbol()))
        trade_bar.symbol_combo.currentTextChanged.connect(lambda _s: self.sync_price_decimals())
        bridge.system_changed.connect(lambda _system: self.sync_price_decimals())   # its execution.tick_size

    # ------------------------------------------------------------------ charts
    def attach(self, panel: ChartPanel) -> None:
        """Hand-trading entries in the chart's menu; its order lines' ✕ and drags become orders."""
        self.panels.append(panel)
        chart = panel.chart
        chart.add_menu_provider(lambda menu, point, p=panel: self.menu_entries(p, menu, point))
        lines = chart.order_lines
        lines.cancel_requested.connect(self.cancel)
        lines.flatten_requested.connect(lambda p=panel: self.flatten(p.current_symbol()))
        lines.modify_requested.connect(self.move)
        lines.snap_price = lambda price, p=panel: self.snap(p.current_symbol(), price)
        panel.destroyed.connect(lambda _obj=None, p=panel: self.panels.remove(p) if p in self.panels else None)
        chart.price_decimals_changed.connect(lambda _d: self.sync_price_decimals())
        panel.symbol_changed.connect(lambda _s: self.sync_price_decimals())
        self.sync_price_decimals()

    def menu_entries(self, panel: ChartPanel, menu: QMenu, point: ChartPoint) -> None:
        """The chart menu's hand-trading entries: orders at the clicked price, cancel the order line
        under the mouse, flatten, cancel all."""
        symbol = panel.current_symbol()
        if not symbol or not self.bridge.loaded:
            return
        lines = panel.chart.order_lines
        qty = self.trade_bar.quantity()
        if point.order_id is not None:
            order = lines.order(point.order_id)
            text = order_label(order, panel.chart.legend.price_text) if order is not None else ""
            act = menu.addAction(f"Cancel order {point.order_id}" + (f": {text}" if text else ""))
            act.triggered.connect(lambda _c=False, oid=point.order_id: self.cancel(oid))
        price = self.snap(symbol, point.price)
        last = self._last_price(panel)
        if math.isfinite(price) and price > 0 and last > 0 and point.order_id is None and not point.on_position:
            trade = menu.addMenu(f"Trade {symbol} at {panel.chart.legend.price_text(price)}")
            trade.setObjectName("TradeMenu")
            entries = ((+1, "limit"), (-1, "stop")) if price < last else ((-1, "limit"), (+1, "stop"))
            for side, kind in entries:
                label = f"{'Buy' if side > 0 else 'Sell'} {kind} {_qty(qty)} @ {panel.chart.legend.price_text(price)}"
                label += self._bracket_text(panel, side, price)
                act = trade.addAction(label)
                act.triggered.connect(lambda _c=False, s=side, k=kind, p=price, sym=symbol: self.place(sym, s, k, p))
            trade.addSeparator()
            for side in (+1, -1):
                act = trade.addAction(f"{'Buy' if side > 0 else 'Sell'} market {_qty(qty)}"
                                      + self._bracket_text(panel, side, last))
                act.triggered.connect(lambda _c=False, s=side, sym=symbol: self.market(s, sym))
            for side in (+1, -1):
                act = trade.addAction(f"{'Buy' if side > 0 else 'Sell'} {_qty(qty)} at the close (MOC)"
                                      + self._bracket_text(panel, side, last))
                act.setToolTip("A market-on-close order: it fills at the close of the session's last regular bar")
                act.triggered.connect(lambda _c=False, s=side, sym=symbol: self.market(s, sym, on_close=True))
        position = self.bridge.position_of(symbol)[0]
        if position:
            act = menu.addAction(f"Flatten {symbol} ({'long' if position > 0 else 'short'} {_qty(abs(position))})")
            act.triggered.connect(lambda _c=False, sym=symbol: self.flatten(sym))
        working = self.bridge.open_orders_of(symbol)
        if working:
            act = menu.addAction(f"Cancel all {len(working)} order{'s' if len(working) != 1 else ''} of {symbol}")
            act.triggered.connect(lambda _c=False, sym=symbol: self.cancel_all(sym))

    # ------------------------------------------------------------------ orders
    def market(self, side: int, symbol: str | None = None, on_close: bool = False) -> int | None:
        """Buy (+1) or sell (-1) the trade bar's quantity at market (`on_close`: a market-on-close order),
        as a bracket when the trade bar has stop loss / take profit distances."""
        symbol = symbol or self.trade_bar.symbol()
        last = self.bridge.position_of(symbol)[2] if symbol else 0.0
        if self._refused_distances(last):
            return None
        stop_loss, take_profit = self._bracket(side, last, symbol)
        order_type = "market_on_close" if on_close else "market"
        return self._send(lambda: self.bridge.submit_order(symbol, side * self.trade_bar.quantity(), order_type,
                                                           stop_loss=stop_loss, take_profit=take_profit))

    def place(self, symbol: str, side: int, order_type: str, price: float) -> int | None:
        """A limit or stop order of the trade bar's quantity at `price` (a bracket with its distances)."""
        if self._refused_distances(price):
            return None
        stop_loss, take_profit = self._bracket(side, price, symbol)
        kwargs = {"limit_price": price} if order_type == "limit" else {"stop_price": price}
        return self._send(lambda: self.bridge.submit_order(symbol, side * self.trade_bar.quantity(), order_type,
                                                           stop_loss=stop_loss, take_profit=take_profit, **kwargs))

    def cancel(self, order_id: int) -> int | None:
        return self._send(lambda: self.bridge.cancel_order(int(order_id)))

    def move(self, order_id: int, field: str, price: float) -> int | None:
        """A dragged order line: the order's limit or stop goes to `price`. A stop dropped through the
        market (a sell stop at or above the last price, a buy stop at or below it) triggers at once and
        fills at the next bar's open (a stop-limit becomes its limit order there), as the fill rules say: a
        slip of the mouse that closes a position. The trader is asked first, and Cancel puts the line back.
        (A limit dropped through the market is a marketable limit, a deliberate way in: not asked.)"""
        through = self._through_market(order_id, field, float(price))
        if through and not self.confirm(*through):
            self._revert(order_id)
            return None
        sequence = self._send(lambda: self.bridge.modify_order(int(order_id), **{field: float(price)}))
        if sequence is None:
            self._revert(order_id)
        return sequence

    def _through_market(self, order_id: int, field: str, price: float) -> tuple[str, str, str, str] | None:
        """The question to ask when moving order `order_id`'s stop to `price` puts it through the market
        (None: not a stop, it stays on its side of the last price, or that price is not known)."""
        if field != "stop_price":
            return None
        for panel in self.panels:
            order = panel.chart.order_lines.order(int(order_id))
            if order is not None:
                break
        else:
            return None
        last = self.bridge.position_of(order.symbol)[2]
        if not last > 0:
            return None
        text = panel.chart.legend.price_text     # the prices as the chart whose line was dragged writes them
        buy = order.quantity > 0
        if (price > last) if buy else (price < last):
            return None
        side = "buy" if buy else "sell"
        then = "fill at the next bar's open" if order.order_type.value == "stop" else "become its limit order"
        return (f"Move the {side} stop through the market?",
                f"{side.capitalize()} stop {text(price)} is {'at or below' if buy else 'at or above'} the "
                f"last price {text(last)} of {order.symbol}: order {order.id} would trigger at once "
                f"and {then}.",
                "Move it there, or cancel to keep it where it was.",
                "Move it")

    def flatten(self, symbol: str) -> int | None:
        if not symbol:
            return None
        return self._send(lambda: self.bridge.flatten(symbol))

    def cancel_all(self, symbol: str) -> list[int]:
        """Cancel every open order of `symbol`: one cancel per bracket and per OCO group (the engine
        cancels the rest of a group with it)."""
        orders = self.bridge.open_orders_of(symbol) if symbol else []
        if not orders:
            self._answer(f"no working orders of {symbol or 'this symbol'} to cancel", False)
            return []
        brackets: set[int] = set()
        groups: set[int] = set()
        out = []
        for order in orders:
            bracket = order.parent_id if order.parent_id is not None else order.id
            if bracket in brackets or (order.oco_group is not None and order.oco_group in groups):
                continue
            brackets.add(bracket)
            if order.oco_group is not None:
                groups.add(order.oco_group)
            sequence = self.cancel(order.id)
            if sequence is not None:
                out.append(sequence)
        return out

    def _send(self, send: Callable[[], int]) -> int | None:
        try:
            return send()
        except WorkstationError as exc:
            self._answer(str(exc), False)
            return None

    # ------------------------------------------------------------------ answers
    def on_batch(self, batch: UpdateBatch) -> None:
        """The engine's answers to hand orders, and fills or late rejections of hand orders."""
        for result in batch.manual:
            what = describe(result.command)
            if result.accepted:
                ids = ", ".join(str(i) for i in result.order_ids)
                self._answer(f"{what}: done" + (f" (order {ids})" if ids else ""), True)
            else:
                self._answer(f"{what}: refused: {result.reason}", False)
                if isinstance(result.command, ModifyOrder):
                    self._revert(result.command.order_id)
        if not self.bridge.hand_commands:
            return                  # no hand order in this run: none of the run's order changes is one
        orphans: list[Order] = []
        trimmed: list[Order] = []
        filled = ""             # this batch's last fill answer
        for change in batch.orders:
            if change.strategy != MANUAL:
                continue
            event = change.event()
            order = event.order
            if event.kind == "cancelled" and order.reason.startswith(ORPHAN_EXIT):
                orphans.append(order)
            elif event.kind == "modified" and order.reason.startswith(ORPHAN_EXIT):
                trimmed.append(order)
            elif event.kind == "rejected" and order.reason.startswith("at the fill"):
                self._answer(f"order {order.id} ({order.side} {_qty(abs(order.quantity))} {order.symbol}) rejected "
                             f"{order.reason}", False)
            elif event.kind == "filled" and event.fill is not None:
                f = event.fill
                tag = f", {order.tag}" if order.tag else ""     # e.g. "session close": why the engine sold
                filled = (f"filled: {'bought' if f.quantity > 0 else 'sold'} {_qty(abs(f.quantity))} {f.symbol} "
                          f"at {f.price:,.{self.price_decimals(f.symbol)}f} (order {order.id}{tag})")
                self._answer(filled, True)
        said = []       # execution.cancel_orphan_exits: the exits a fill left with nothing to protect, and
        if orphans:     # those cut to what a reduction left
            ids = ", ".join(str(o.id) for o in orphans)
            why = orphans[0].reason.removeprefix(ORPHAN_EXIT).split(" (")[0]     # "order 4 closed the position"
            said.append(f"exit{'s' if len(orphans) > 1 else ''} {ids} cancelled: "
                        + ("nothing left to protect" if filled else why))
        if trimmed:
            latest = {o.id: o for o in trimmed}
            ids = ", ".join(str(i) for i in latest)
            left = _qty(abs(trimmed[-1].quantity - trimmed[-1].filled_quantity))
            said.append(f"exit{'s' if len(latest) > 1 else ''} {ids} cut to {left}: what is left"
                        + ("" if filled else " of the position"))
        if said:
            head = f"{filled}; " if filled else f"{(orphans or trimmed)[0].symbol} "
            self._answer(head + "; ".join(said), True)

    def _answer(self, text: str, ok: bool) -> None:
        self.last_answer = (text, ok)
        self.trade_bar.show_answer(text, ok)
        self.report(text, ok)

    def _revert(self, order_id: int) -> None:
        for panel in self.panels:
            panel.chart.order_lines.revert(int(order_id))

    # ------------------------------------------------------------------ tickets
    def _refused_distances(self, entry: float) -> bool:
        """A number box whose text is no number, or a stop loss or take profit distance of half the
        entry price or more, which is a price typed where a distance goes (SL 27.90 on a 28.17 entry put
        the stop at 0.27): say so, send nothing."""
        unreadable = self.trade_bar.unreadable_field()
        if unreadable:
            self._answer(f"{unreadable}. Nothing was sent", False)
            return True
        if not entry > 0:
            return False
        for name, distance in (("SL", self.trade_bar.stop_loss_distance()),
                               ("TP", self.trade_bar.take_profit_distance())):
            if distance >= entry / 2:
                self._answer(f"{name} {distance:g} is a distance from the entry price ({entry:g}), not a price: "
                             f"set a distance below {entry / 2:g}, or 0 for none. Nothing was sent", False)
                return True
        return False

    def _bracket(self, side: int, entry: float, symbol: str) -> tuple[float | None, float | None]:
        """Stop loss and take profit at the trade bar's distances from `entry` (None when off or no price)."""
        if not entry > 0:
            return None, None
        sl, tp = self.trade_bar.stop_loss_distance(), self.trade_bar.take_profit_distance()
        stop_loss = self.snap(symbol, entry - side * sl) if sl > 0 else None
        take_profit = self.snap(symbol, entry + side * tp) if tp > 0 else None
        return stop_loss, take_profit

    def _bracket_text(self, panel: ChartPanel, side: int, entry: float) -> str:
        stop_loss, take_profit = self._bracket(side, entry, panel.current_symbol())
        text = panel.chart.legend.price_text
        parts = ([f"SL {text(stop_loss)}"] if stop_loss else []) + ([f"TP {text(take_profit)}"] if take_profit else [])
        return f"  ({', '.join(parts)})" if parts else ""

    def price_decimals(self, symbol: str) -> int:
        """Decimals of `symbol`'s prices as its chart shows them (5 for EURUSD's 1.08002; 2 when no
        chart shows it): a bracket's levels are rounded to them and the trade bar's distances take them."""
        for panel in self.panels:
            if panel.current_symbol() == symbol:
                return int(panel.chart.price.axis.decimals)
        return 2

    def tick_size(self, symbol: str) -> float | None:
        """`symbol`'s tick in the loaded config: `execution.tick_sizes`, else `execution.tick_size` (None: the
        data's decimals)."""
        system = self.bridge.system
        return system.cfg.execution.tick_for(symbol) if system is not None else None

    def snap(self, symbol: str, price: float) -> float:
        """`price` on `symbol`'s nearest tick: the config's tick size, never finer than the decimals its
        chart shows (NaN for a price that is not finite)."""
        return snap_price(price, self.tick_size(symbol), self.price_decimals(symbol))

    def sync_price_decimals(self) -> None:
        """The trade bar's distances in the traded symbol's price unit: the decimals of its tick, a step
        of its tick or 5 units of the last decimal, whichever is coarser."""
        symbol = self.trade_bar.symbol()
        step = price_step(self.tick_size(symbol), self.price_decimals(symbol))
        decimals = tick_decimals(step)
        self.trade_bar.set_price_decimals(decimals, max(step, 5 * 10.0 ** -decimals))

    def _last_price(self, panel: ChartPanel) -> float:
        last = self.bridge.position_of(panel.current_symbol())[2]
        if last > 0:
            return last
        closes = panel.chart.bar_arrays()[4]
        return float(closes[-1]) if len(closes) else 0.0
