"""WalkForwardChart: the stitched out-of-sample equity of a walk-forward sweep, window by window.

Top: the out-of-sample equity against bar number (no overnight gaps), each test window shaded and
labelled with the parameters its train window chose. Bottom: the objective in-sample (best train
cell) against out-of-sample (the same parameters on the test window), one pair of bars per window.
Given the frames `workstation sweep` writes (walk_forward_equity.parquet, walk_forward.parquet);
GUI thread only.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui import theme
from workstation.sweep.results import param_text, params_label

TICK_PARAMS_MAX_WINDOWS = 10   # up to this many windows the bars' axis shows each one's parameter values


class _WindowAxis(pg.AxisItem):
    """Bar-number axis labelled with the first test date of each window."""

    def __init__(self) -> None:
        super().__init__("bottom")
        self.setPen(pg.mkPen(theme.BORDER))
        self.setTextPen(pg.mkPen(theme.MUTED))

    def set_windows(self, starts: list[tuple[float, str]]) -> None:
        self.setTicks([starts])


class WalkForwardChart(QWidget):
    """See the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.axis = _WindowAxis()
        self.equity_plot = pg.PlotWidget(axisItems={"bottom": self.axis}, background=theme.BACKGROUND)
        self.equity_plot.setObjectName("WalkForwardEquity")
        self.equity_plot.showGrid(x=False, y=True, alpha=0.15)
        self.equity_plot.setLabel("left", "out-of-sample equity")
        self.equity_plot.getAxis("left").setTextPen(pg.mkPen(theme.MUTED))
        self.equity_plot.setMenuEnabled(False)
        self.bars_plot = pg.PlotWidget(background=theme.BACKGROUND)
        self.bars_plot.setObjectName("WalkForwardBars")
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.showGrid(x=False, y=True, alpha=0.15)
        for plot in (self.equity_plot, self.bars_plot):
            for name in ("left", "bottom"):
                plot.getAxis(name).setPen(pg.mkPen(theme.BORDER))
                plot.getAxis(name).setTextPen(pg.mkPen(theme.MUTED))
        self.legend = QLabel("")
        self.legend.setStyleSheet(f"color: {theme.MUTED};")
        self.legend.setWordWrap(True)
        self.summary = QLabel("")
        self.summary.setObjectName("WalkForwardSummary")
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.equity_plot, 3)
        layout.addWidget(self.bars_plot, 2)
        layout.addWidget(self.legend)
        layout.addWidget(self.summary)
        self.window_count = 0

    def set_data(self, equity: pd.DataFrame | None, windows: pd.DataFrame | None, objective: str,
                 aliases: dict[str, str], overall: dict | None = None) -> None:
        self.equity_plot.clear()
        self.bars_plot.clear()
        self.window_count = 0 if windows is None else len(windows)
        if equity is None or windows is None or equity.empty:
            self.summary.setText("The walk-forward chart appears when every window has been tested.")
            return
        x = np.arange(len(equity), dtype=float)
        values = equity["equity"].to_numpy(dtype=float)
        top, bottom = float(np.nanmax(values)), float(np.nanmin(values))
        span = (top - bottom) or max(abs(top), 1.0) * 0.01
        label_y = top + 0.12 * span       # the windows' names above the curve, never under it
        ticks, labels, chosen = [], [], []
        for k, row in enumerate(windows.to_dict("records")):
            part = np.flatnonzero(equity["window"].to_numpy() == row["window"])
            if not len(part):
                continue
            lo, hi = float(part[0]), float(part[-1] + 1)
            region = pg.LinearRegionItem((lo, hi), movable=False,
                                         brush=pg.mkBrush(theme.qcolor(theme.ACCENT, 28 if k % 2 else 14)),
                                         pen=pg.mkPen(None))
            region.setZValue(-10)
            self.equity_plot.addItem(region)
            params = json.loads(row["params"]) if isinstance(row.get("params"), str) else (row.get("params") or {})
            chosen.append(params)
            labels.append(params_label(aliases, params))
            # the window's first test date with its name: the axis leaves out a date centred on the left edge
            text = pg.TextItem(f"W{row['window']}  {str(row['test_start'])[5:]}", color=theme.MUTED, anchor=(0, 0))
            text.setToolTip(labels[-1])
            text.setPos(lo, label_y)
            self.equity_plot.addItem(text)
            ticks.append((lo, str(row["test_start"])[5:]))
        self.axis.set_windows(ticks)
        colour = theme.UP if values[-1] >= values[0] else theme.DOWN
        self.equity_plot.plot(x, values, pen=pg.mkPen(colour, width=1.6))
        self.equity_plot.setXRange(0, len(x), padding=0.01)
        self.equity_plot.setYRange(bottom - 0.04 * span, top + 0.2 * span, padding=0)

        is_values = pd.to_numeric(windows[f"is_{objective}"], errors="coerce").to_numpy(dtype=float)
        oos_values = pd.to_numeric(windows[f"oos_{objective}"], errors="coerce").to_numpy(dtype=float)
        idx = windows["window"].to_numpy(dtype=float)
        self.bars_plot.addItem(pg.BarGraphItem(x=idx - 0.18, height=np.nan_to_num(is_values), width=0.34,
                                               brush=theme.qcolor(theme.ACCENT_LIGHT, 200), name="in-sample"))
        self.bars_plot.addItem(pg.BarGraphItem(x=idx + 0.18, height=np.nan_to_num(oos_values), width=0.34,
                                               brush=theme.qcolor(theme.AMBER, 220), name="out-of-sample"))
        # under each window its parameters' values, one per line (their names once, in the legend below):
        # "name=value" pairs on one line were wider than a window's room, and the axis left out the labels
        # that overlapped (2 of 4 windows unnamed, the other two run together)
        paths = list(dict.fromkeys(path for params in chosen for path in params))
        with_values = len(idx) <= TICK_PARAMS_MAX_WINDOWS and bool(paths) and len(chosen) == len(idx)
        names = [f"W{int(i)}" + ("".join(f"\n{param_text(params.get(path))}" for path in paths) if with_values else "")
                 for i, params in zip(idx, chosen if with_values else [{}] * len(idx), strict=True)]
        bottom_axis = self.bars_plot.getAxis("bottom")
        bottom_axis.setTicks([[(float(i), name) for i, name in zip(idx, names, strict=True)]])
        line = QFontMetrics(bottom_axis.font()).lineSpacing()
        bottom_axis.setHeight(int(line * (1 + (len(paths) if with_values else 0)) + 12))
        if len(idx):
            self.bars_plot.setXRange(float(idx.min()) - 0.6, float(idx.max()) + 0.6, padding=0)
        self.legend.setText(
            f"<span style='color:{theme.ACCENT_LIGHT}'>■</span> in-sample (best train cell)&nbsp;&nbsp;"
            f"<span style='color:{theme.AMBER}'>■</span> out-of-sample (its parameters on the test window)"
            + ("&nbsp;&nbsp;·&nbsp;&nbsp;under each window, top to bottom: "
               + ", ".join(aliases.get(path, path) for path in paths) if with_values else ""))
        self.bars_plot.setLabel("left", objective)
        self.bars_plot.getAxis("left").setTextPen(pg.mkPen(theme.MUTED))
        self.bars_plot.addLine(y=0, pen=pg.mkPen(theme.BORDER))
        if overall:
            ins, oos = overall.get("in_sample") or {}, overall.get("out_of_sample") or {}
            eff = overall.get("efficiency")
            self.summary.setText(
                f"{overall.get('windows_ok', 0)} of {overall.get('windows', 0)} windows tested. "
                f"{objective}: in-sample mean {_num(ins.get(objective))}, out-of-sample {_num(oos.get(objective))}. "
                f"Total return: in-sample mean {_num(ins.get('total_return_pct'))} %, out-of-sample "
                f"{_num(oos.get('total_return_pct'))} %. Walk-forward efficiency "
                + (f"{_num(eff)}." if eff is not None else "not defined (the in-sample return is not positive)."))


def _num(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "-"
    return f"{v:,.3g}" if math.isfinite(v) else "-"
