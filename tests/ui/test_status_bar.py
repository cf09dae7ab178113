"""The main window's status bar at 1280 x 800 (pytest-qt, offscreen): a message longer than the room
its permanent read-outs (clock, session, rate, overruns, state) leave ends in "…" within that room,
with the whole text in the tooltip; a message that fits shows as it is."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


def read_out_left(bar) -> int:
    """Where the first permanent read-out starts (found independently of the bar's own bookkeeping)."""
    return min(c.geometry().left() for c in bar.findChildren(QLabel)
               if c.isVisible() and c.parent() is bar and c.geometry().left() > 0 and c.text())


def test_a_long_message_ends_in_an_ellipsis_before_the_read_outs_and_keeps_its_text_in_the_tooltip(
        qtbot, ui_make_window, ui_small_config):
    w = ui_make_window()
    w.resize(1280, 800)
    w.load_config(ui_small_config)
    bar = w.statusBar()
    qtbot.waitUntil(lambda: bool(w.clock_label.text()) and read_out_left(bar) < 1000, timeout=10_000)
    text = ("Loaded a_config_with_a_long_file_name.json: Demo: opening-range breakout (bracketed stop "
            "entries) on five demo symbols, eleven sessions of November and December, fills at next open")
    assert bar.fontMetrics().horizontalAdvance(text) > read_out_left(bar)     # too long for the room
    bar.showMessage(text, 10_000)
    shown = bar.currentMessage()
    assert shown.endswith("…") and text.startswith(shown[:-1].rstrip())
    assert bar.fontMetrics().horizontalAdvance(shown) < read_out_left(bar)
    assert bar.toolTip() == text and bar.full_message == text

    bar.showMessage("Saved c.json", 5000)                 # fits: as it is, no tooltip
    assert bar.currentMessage() == "Saved c.json" and bar.toolTip() == ""
    bar.showMessage(text)
    bar.clearMessage()
    assert bar.toolTip() == "" and bar.full_message == ""
