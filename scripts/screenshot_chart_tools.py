"""Save a screenshot of a chart with its tools (offscreen) for the README.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_chart_tools.py docs/screenshots/chart_tools.png
A 1m ACME chart of the demo data (data/store) as Heikin-Ashi candles with SMA and Bollinger, a trend
line, a rectangle, a horizontal line and a note, and the right-click menu opened on the trend line.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import numpy as np
    import pandas as pd
    from PySide6 import QtCore, QtGui
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.theme import apply_theme
    from ui.widgets.chart import ChartPanel, ChartType, Drawing, DrawingBook, DrawingKind
    from ui.widgets.chart.chart_actions import ChartPoint
    from workstation.store import BarStore

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/chart_tools.png")
    install_none_refcount_guard()
    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    store = BarStore(ROOT / "data" / "store")
    start = pd.Timestamp("2024-12-02 09:30", tz="America/New_York").value
    end = pd.Timestamp("2024-12-03 16:00", tz="America/New_York").value
    df = store.read_bars(["ACME"], "1m", start, end, rth_only=True)
    ts = pd.DatetimeIndex(df["timestamp"]).as_unit("ns").asi8
    o, h, low, c, v = (df[k].to_numpy(float) for k in ("open", "high", "low", "close", "volume"))

    panel = ChartPanel()
    panel.resize(1000, 620)
    panel.set_symbols(["ACME"])
    panel.set_intervals(["1m"])
    panel.set_checked_overlays(["sma(20)", "bb(20,2)"])
    chart = panel.chart
    chart.set_bars(ts, o, h, low, c, v)
    chart.set_chart_type(ChartType.HEIKIN_ASHI)
    n = len(ts)
    chart.set_visible_range(n - 160, n + 4)
    book = DrawingBook()
    chart.set_drawing_book(book)
    a, b = n - 140, n - 40  # a trend line under two lows, a box over a range, the day's high, a note
    lo1 = a + int(np.argmin(low[a : a + 40]))
    lo2 = b - 30 + int(np.argmin(low[b - 30 : b]))
    book.add("ACME", Drawing.new(DrawingKind.TREND_LINE, [(int(ts[lo1]), low[lo1]), (int(ts[lo2]), low[lo2])]))
    r0, r1 = n - 100, n - 70
    book.add("ACME", Drawing.new(DrawingKind.RECTANGLE, [(int(ts[r0]), h[r0:r1].max()), (int(ts[r1]), low[r0:r1].min())]))
    top = n - 160 + int(np.argmax(h[n - 160 :]))
    book.add("ACME", Drawing.new(DrawingKind.HORIZONTAL_LINE, [(int(ts[top]), h[top])]))
    book.add("ACME", Drawing.new(DrawingKind.TEXT_NOTE, [(int(ts[r0]), h[r0:r1].max() + 0.6 * (h[r0:r1].max() - low[r0:r1].min()))],
                                 text="range: break out\nor fade?"))
    trend = book.drawings("ACME")[0]
    chart.drawings.select(trend.id)
    panel.show()
    app.processEvents()
    chart.refresh()
    app.processEvents()
    image = panel.grab().toImage()
    mid = chart.drawings.item(trend.id).pixel_points()
    spot = (mid[0] + mid[1]) / 2
    menu = chart.context_menu(ChartPoint(int(ts[(lo1 + lo2) // 2]), float(low[lo2]), trend.id))
    menu.ensurePolished()
    menu.adjustSize()
    menu_image = menu.grab().toImage()
    at = chart.mapTo(panel, chart.graphics_view.mapFrom(chart, chart.graphics_view.mapFromScene(
        chart.price.vb.mapToScene(spot))))
    painter = QtGui.QPainter(image)
    x = min(at.x(), image.width() - menu_image.width() - 8)
    y = min(at.y(), image.height() - menu_image.height() - 8)
    painter.drawImage(QtCore.QPoint(x, y), menu_image)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(out))
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
