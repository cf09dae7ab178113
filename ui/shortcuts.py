"""Every keyboard shortcut and mouse gesture of the replay window and its charts, in one table.

The window and the charts bind their keys from here, the shortcuts dialog (F1 or ?) lists them, and a
test keeps the README's tables equal to it.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOW = "Replay window"
TRADING = "Hand trading (replay window; the trade bar's symbol and quantity)"
CHART = "Chart (click a chart first)"
MOUSE = "Mouse on a chart"


@dataclass(frozen=True)
class Shortcut:
    """One shortcut: an id the code binds by, its keys (QKeySequence text), what it does, where."""

    id: str
    keys: tuple[str, ...]
    description: str
    scope: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("play_pause", ("Space",), "Play / pause", WINDOW),
    Shortcut("step", ("Right",), "Step one bar time at any speed, then stay paused", WINDOW),
    Shortcut("step_back", ("Left",), "Step back one bar time: orders, positions and indicators as they were "
                                     "then", WINDOW),
    Shortcut("faster", ("+", "="), "Faster replay", WINDOW),
    Shortcut("slower", ("-", "_"), "Slower replay", WINDOW),
    Shortcut("new_config", ("Ctrl+N",), "New session config (from the example; Save asks for a file name)", WINDOW),
    Shortcut("open_config", ("Ctrl+O",), "Open a session config", WINDOW),
    Shortcut("import_bars", ("Ctrl+I",), "Import bar files (MetaTrader, NinjaTrader, TradingView exports, CSV, "
                                         "Parquet) into the store", WINDOW),
    Shortcut("add_chart", ("Ctrl+T",), "Add a chart", WINDOW),
    Shortcut("shortcuts", ("F1", "?"), "Show every shortcut (this list)", WINDOW),
    Shortcut("quit", ("Ctrl+Q",), "Quit", WINDOW),
    Shortcut("buy_market", ("Shift+B",), "Buy at market (with the trade bar's stop loss and take profit)", TRADING),
    Shortcut("sell_market", ("Shift+S",), "Sell at market (with the trade bar's stop loss and take profit)", TRADING),
    Shortcut("flatten", ("Shift+F",), "Flatten: cancel the symbol's orders and close its position", TRADING),
    Shortcut("cancel_all_orders", ("Shift+X",), "Cancel every working order of the symbol", TRADING),
    Shortcut("first_bar", ("Home",), "Go to the first bar (keeps the zoom)", CHART),
    Shortcut("last_bar", ("End",), "Go to the newest bar and follow it", CHART),
    Shortcut("reset_zoom", ("Ctrl+0",), "Reset the zoom and follow the newest bar", CHART),
    Shortcut("type_candles", ("Alt+1",), "Candles", CHART),
    Shortcut("type_line", ("Alt+2",), "Line (closes)", CHART),
    Shortcut("type_heikin_ashi", ("Alt+3",), "Heikin-Ashi candles", CHART),
    Shortcut("log_scale", ("Alt+L",), "Logarithmic price scale on / off", CHART),
    Shortcut("draw_horizontal_line", ("Alt+H",), "Draw a horizontal line (click)", CHART),
    Shortcut("draw_trend_line", ("Alt+T",), "Draw a trend line (click, click or drag)", CHART),
    Shortcut("draw_rectangle", ("Alt+B",), "Draw a rectangle (click, click or drag)", CHART),
    Shortcut("draw_text_note", ("Alt+N",), "Write a text note (click, then type)", CHART),
    Shortcut("delete_drawing", ("Delete", "Backspace"), "Delete the selected drawing", CHART),
    Shortcut("cancel", ("Esc",), "Cancel the drawing tool, else clear the selection", CHART),
    Shortcut("save_png", ("Alt+S",), "Save the chart as PNG", CHART),
)

MOUSE_GESTURES: tuple[tuple[str, str], ...] = (
    ("Drag", "Pan back and forth in time (leaves follow mode)"),
    ("Wheel", "Zoom in and out"),
    ("Right-click", "Chart menu: chart type, log scale, zoom, drawings, limit and stop orders at the price, "
                    "save as PNG"),
    ("Drag an order line", "Move the order (limit, stop, stop loss, take profit) to that price; a stop dropped "
                           "through the market asks first"),
    ("Click ✕ on an order line", "Cancel the order (on the position line: flatten)"),
    ("Click a drawing", "Select it; drag it to move it, drag a handle to move that point"),
    ("Double-click a note", "Edit its text"),
)


def shortcut(shortcut_id: str) -> Shortcut:
    """The shortcut with this id (KeyError names the known ids)."""
    for s in SHORTCUTS:
        if s.id == shortcut_id:
            return s
    raise KeyError(f"no shortcut {shortcut_id!r}; known: {[s.id for s in SHORTCUTS]}")
