"""Metrics panel fed with engine PerformanceMetrics snapshots (pytest-qt, offscreen)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import pandas as pd
import pytest

from ui.widgets.metrics_panel import MetricsPanel, format_count, format_duration
from workstation.metrics import PerformanceMetrics

CLOCK = int(pd.Timestamp("2024-03-15 10:45:00", tz="America/New_York").value)


def stat(count: int, mean: float, maximum: float, last: float | None = None) -> dict:
    return {
        "count": count,
        "mean": mean,
        "max": maximum,
        "min": mean / 2,
        "total": count * mean,
        "last": last or mean,
    }


def snapshot(**extra) -> dict:
    base = {
        "stats": {
            "coordinator.iteration": stat(41_234, 85e-6, 0.0042),
            "processor.event": stat(41_234, 0.00031, 0.012),
            "analysis.event": stat(41_230, 0.0011, 0.048),
            "quality.pass": stat(812, 0.0043, 0.021),
            "session.transition": stat(3, 0.0415, 0.063, 0.038),
            "historical.load": stat(1, 1.84, 1.84),
            "queue.load": stat(3, 0.212, 0.31, 0.18),
            "broker.fill": stat(512, 22e-6, 0.0003),
        },
        "counters": {
            "bars.processed": 1_234_567,
            "overruns.processor": 0,
            "overruns.analysis": 2,
            "overruns.quality": 0,
        },
        "bars_per_s": 12_345.6,
        "clock_ns": CLOCK,
        "session_date": "2024-03-15",
        "memory_mb": 412.4,
        "sessions_done": 3,
        "sessions_total": 20,
    }
    base.update(extra)
    return base


@pytest.fixture
def panel(qtbot):
    widget = MetricsPanel()
    qtbot.addWidget(widget)
    widget.resize(350, 500)
    widget.show()
    return widget


def test_formats():
    assert format_duration(85e-6) == "85 µs"
    assert format_duration(0.0042) == "4.2 ms"
    assert format_duration(0.048) == "48 ms"
    assert format_duration(1.84) == "1.84 s"
    assert format_duration(12.34) == "12.3 s"
    assert format_duration(None) == "—"
    assert format_count(41_234) == "41,234"
    assert format_count(12_345_678) == "12.35M"


def test_shows_snapshot_values(panel):
    panel.update_metrics(snapshot(), now=10.0)
    assert panel.clock_label.text() == "10:45:00"
    assert panel.zone_label.text() == "EDT"
    assert panel.session_label.text() == "Session Fri 2024-03-15 · 3 of 20 done"
    assert (panel.sessions_bar.value(), panel.sessions_bar.maximum()) == (3, 20)
    assert panel.bars_label.text() == "1,234,567"
    assert panel.rate_label.text() == "12,346"
    assert panel.memory_label.text() == "412 MB"
    assert "Analysis" in panel.overrun_labels["overruns.analysis"].text()
    assert ">2<" in panel.overrun_labels["overruns.analysis"].text()
    assert ">0<" in panel.overrun_labels["overruns.quality"].text()
    assert panel.timing_row("coordinator.iteration") == {
        "Stage": "Coordinator",
        "Count": "41,234",
        "Mean": "85 µs",
        "Max": "4.2 ms",
    }
    assert panel.timing_row("processor.event")["Mean"] == "310 µs"
    assert panel.timing_row("quality.pass")["Max"] == "21 ms"
    assert panel.timing_row("session.transition") == {
        "Sessions & loads": "Transition",
        "Last": "38 ms",
        "Mean": "42 ms",
        "Max": "63 ms",
    }
    assert panel.timing_row("historical.load")["Last"] == "1.84 s"
    assert panel.timing_row("queue.load")["Max"] == "310 ms"
    # Unknown statistics get generic rows.
    assert panel.timing_row("broker.fill") == {
        "Stage": "broker.fill",
        "Count": "512",
        "Mean": "22 µs",
        "Max": "300 µs",
    }


def test_values_update_in_place(panel):
    panel.update_metrics(snapshot(), now=1.0)
    rows_before = panel.stages_table.rowCount()
    changed = snapshot()
    changed["stats"]["processor.event"] = stat(50_000, 0.0005, 0.02)
    changed["counters"]["overruns.processor"] = 7
    changed["clock_ns"] = CLOCK + 90 * 1_000_000_000
    panel.update_metrics(changed, now=2.0)
    assert panel.stages_table.rowCount() == rows_before
    assert panel.timing_row("processor.event")["Count"] == "50,000"
    assert panel.timing_row("processor.event")["Mean"] == "500 µs"
    assert ">7<" in panel.overrun_labels["overruns.processor"].text()
    assert panel.clock_label.text() == "10:46:30"
    changed["stats"]["custom.stage"] = stat(1, 0.5, 0.5)
    panel.update_metrics(changed, now=3.0)
    assert panel.stages_table.rowCount() == rows_before + 1
    assert panel.timing_row("custom.stage")["Mean"] == "500 ms"
    assert panel.timing_row("processor.event")["Count"] == "50,000"


def test_sparkline_keeps_last_two_minutes(panel):
    for i in range(150):
        panel.update_metrics(snapshot(bars_per_s=float(i)), now=float(i))
    x, y = panel.sparkline_data()
    assert len(x) == len(y) == 121
    assert x.min() == -120.0 and x.max() == 0.0
    assert y[-1] == 149.0 and np.all(np.diff(y) > 0)
    assert "peak 149" in panel.peak_label.text()
    # Updates between samples (0.5 s) only replace the newest value; the curve shows it with the next sample.
    panel.update_metrics(snapshot(bars_per_s=5.0), now=149.2)
    x, y = panel.sparkline_data()
    assert len(x) == 121 and y[-1] == 149.0
    assert panel.rate_label.text() == "5"
    panel.update_metrics(snapshot(bars_per_s=7.0), now=149.6)
    x, y = panel.sparkline_data()
    assert list(y[-2:]) == [5.0, 7.0] and x[-1] == 0.0


def test_reads_real_performance_metrics_snapshot(panel):
    metrics = PerformanceMetrics()
    for _ in range(4):
        metrics.record("processor.event", 0.002)
    metrics.record("session.transition", 0.05)
    metrics.incr("bars.processed", 500)
    metrics.incr("overruns.quality", 3)
    panel.update_metrics({**metrics.snapshot(), "bars_per_s": 100.0})
    assert panel.bars_label.text() == "500"
    assert panel.timing_row("processor.event")["Count"] == "4"
    assert panel.timing_row("processor.event")["Mean"] == "2.0 ms"
    assert panel.timing_row("analysis.event")["Mean"] == "—"
    assert panel.timing_row("session.transition")["Last"] == "50 ms"
    assert ">3<" in panel.overrun_labels["overruns.quality"].text()


def test_clear_resets(panel):
    panel.update_metrics(snapshot(), now=1.0)
    panel.clear()
    assert panel.clock_label.text() == "--:--:--"
    assert panel.bars_label.text() == "—"
    assert len(panel.sparkline_data()[0]) == 0
    assert panel.timing_row("processor.event")["Count"] == "—"
    assert panel.timing_row("broker.fill") is None


def test_sessions_bar_moves_without_a_synchronous_repaint(qtbot):
    """QProgressBar.setValue repaints at once (a styled bar also paints its parent then, ~6 ms every
    session at MAX speed); set_progress marks the bar for the next frame's paint instead."""
    from PySide6.QtCore import QEvent, QObject

    from ui.widgets.metrics_panel import set_progress

    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.resize(400, 700)
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel.sessions_bar
    qtbot.wait(20)

    class PaintCounter(QObject):
        count = 0

        def eventFilter(self, obj, event):  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint:
                PaintCounter.count += 1
            return False

    counter = PaintCounter()
    bar.installEventFilter(counter)
    set_progress(bar, 3, 7)
    assert PaintCounter.count == 0                     # nothing painted inside the call
    assert (bar.value(), bar.minimum(), bar.maximum()) == (3, 0, 7)
    qtbot.waitUntil(lambda: PaintCounter.count > 0, timeout=2000)   # painted with the next frame
    painted = PaintCounter.count
    set_progress(bar, 3, 7)                            # unchanged: nothing to paint
    qtbot.wait(50)
    assert PaintCounter.count == painted
    bar.removeEventFilter(counter)


def test_the_peak_is_never_below_a_rate_shown(panel):
    """A run's final rate (its average, engine start to last bar) came between two samples and above
    every one: the panel read "7,962 bars/s, peak 5,660" until the next run."""
    for i, rate in enumerate((4_000.0, 5_660.0, 5_000.0)):
        panel.update_metrics(snapshot(bars_per_s=rate), now=float(i))
    assert panel.peak_label.text() == "peak 5,660"
    panel.update_metrics(snapshot(bars_per_s=5_100.0), now=2.2)     # between samples, below the peak
    assert panel.peak_label.text() == "peak 5,660"
    panel.update_metrics(snapshot(bars_per_s=7_962.0), now=2.3)     # between samples, a new peak
    assert panel.rate_label.text() == "7,962" and panel.peak_label.text() == "peak 7,962"
    panel.clear()
    panel.update_metrics(snapshot(bars_per_s=10.0), now=10.0)
    assert panel.peak_label.text() == "peak 10"
