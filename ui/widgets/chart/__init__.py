"""The candle chart package: `CandleChart` (the widget), `ChartPanel` (chart + toolbar) and their parts.

Modules: bar_store (bars, forming bar, time <-> x), chart_types (candles, line, Heikin-Ashi),
price_scale (linear / log), bar_items and series_items (what is painted), axes (shared with the
results view), panes and pane_stack, decorations (grid, crosshair lines, text), overlays (the
engine's indicators), viewport (follow mode, y fit), crosshair, legend, markers (fills),
drawing_model / drawing_items / drawing_tools (drawings kept per symbol with the config),
order_lines (working orders and the position as lines: labelled, dragged to move, ✕ to cancel),
chart_actions (keys and the right-click menu, extensible by menu providers), interaction (menus and
tools on the panes), live_button, note_dialog, chart, panel.

Hand-trading entries of the menu come from a menu provider (`CandleChart.add_menu_provider`, given the
clicked time and price, or the order line under the mouse: ui.hand_trading); the order lines ask for
changes through `CandleChart.order_lines`' signals and are fed by their owner (ui.chart_feed). A
timeline under the chart is one more widget in `ChartPanel`'s layout, driven by the same `Viewport`.
"""

from ui.widgets.chart.chart import CandleChart
from ui.widgets.chart.chart_types import ChartType
from ui.widgets.chart.drawing_model import Drawing, DrawingBook, DrawingKind, sidecar_path
from ui.widgets.chart.panel import INDICATOR_CHOICES, ChartPanel
from ui.widgets.chart.theme import ChartTheme

__all__ = [
    "INDICATOR_CHOICES",
    "CandleChart",
    "ChartPanel",
    "ChartTheme",
    "ChartType",
    "Drawing",
    "DrawingBook",
    "DrawingKind",
    "sidecar_path",
]
