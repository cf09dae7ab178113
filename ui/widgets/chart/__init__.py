"""The candle chart package: `CandleChart` (the widget), `ChartPanel` (chart + toolbar) and their parts.

Modules: bar_store (bars, forming bar, time <-> x), chart_types (candles, line, Heikin-Ashi),
price_scale (linear / log), bar_items and series_items (what is painted), axes (shared with the
results view), panes and pane_stack, decorations (grid, crosshair lines, text), overlays (the
engine's indicators), viewport (follow mode, y fit), crosshair, legend, markers (fills),
drawing_model / drawing_items / drawing_tools (drawings kept per symbol with the config),
chart_actions (keys and the right-click menu, extensible by menu providers), interaction (menus and
tools on the panes), live_button, note_dialog, chart, panel.

Where later parts plug in without another split: hand-trading entries are a menu provider
(`CandleChart.add_menu_provider`, given the clicked time and price); order, stop-loss and take-profit
lines are one more layer on the price pane like `drawing_tools` (pixel mapping through the chart's
`time_map` and `price_scale`, drag protocol of `drawing_items.DrawingItem`, axis badges); a timeline
under the chart is one more widget in `ChartPanel`'s layout, driven by the same `Viewport`.
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
