"""The chart's commands as QActions (keys from ui.shortcuts, bound while the chart has focus) and its
right-click menu.

The menu is built from the actions plus "menu providers": functions given the clicked point (time,
price, drawing or order line under the mouse) that add their own entries. The drawing entries come
from one; hand trading (orders at the clicked price, cancel an order line) from another
(ui.hand_trading), without changing the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from ui.file_dialogs import save_file_name
from ui.shortcuts import shortcut
from ui.widgets.chart.chart_types import ChartType
from ui.widgets.chart.drawing_model import DRAWING_COLORS, DrawingKind

if TYPE_CHECKING:
    from ui.widgets.chart.chart import CandleChart


@dataclass(frozen=True)
class ChartPoint:
    """Where the chart was right-clicked: time (ns UTC), price, the drawing there (its id), the order
    line there (its order id) or the position line (`on_position`)."""

    time_ns: int
    price: float
    drawing_id: str | None = None
    order_id: int | None = None
    on_position: bool = False


MenuProvider = Callable[[QtWidgets.QMenu, ChartPoint], None]

DRAW_ACTIONS = {
    DrawingKind.HORIZONTAL_LINE: "draw_horizontal_line",
    DrawingKind.TREND_LINE: "draw_trend_line",
    DrawingKind.RECTANGLE: "draw_rectangle",
    DrawingKind.TEXT_NOTE: "draw_text_note",
}
TYPE_ACTIONS = {
    ChartType.CANDLES: "type_candles",
    ChartType.LINE: "type_line",
    ChartType.HEIKIN_ASHI: "type_heikin_ashi",
}


def ask_png_path(parent: QtWidgets.QWidget, suggested: str) -> str | None:
    """Ask where to save a chart picture (None when cancelled)."""
    path = save_file_name(parent, "Save chart as PNG", suggested, "PNG images (*.png)")
    if not path:
        return None
    return path if path.lower().endswith(".png") else path + ".png"


class ChartActions(QtCore.QObject):
    """Builds and owns the chart's actions and its context menu."""

    def __init__(self, chart: CandleChart):
        super().__init__(chart)
        self._chart = chart
        self.providers: list[MenuProvider] = [self._drawing_entries]
        self.ask_png_path: Callable[[str], str | None] = lambda suggested: ask_png_path(chart, suggested)
        self.last_saved: Path | None = None
        self.actions: dict[str, QtGui.QAction] = {}
        add = self._add
        add("first_bar", "Go to first bar", chart.go_to_first_bar)
        add("last_bar", "Go to newest bar (follow)", chart.jump_to_live)
        add("reset_zoom", "Reset zoom", chart.reset_zoom)
        add("log_scale", "Log scale", chart.set_log_scale, checkable=True)
        self._types = QtGui.QActionGroup(self)
        for kind, action_id in TYPE_ACTIONS.items():
            act = add(action_id, kind.label, lambda _c=False, k=kind: chart.set_chart_type(k), checkable=True)
            self._types.addAction(act)
        self.actions[TYPE_ACTIONS[ChartType.CANDLES]].setChecked(True)
        for kind, action_id in DRAW_ACTIONS.items():
            add(action_id, kind.label, lambda _c=False, k=kind: chart.drawings.arm(k))
        add("delete_drawing", "Delete drawing", chart.drawings.delete_selected)
        add("cancel", "Cancel", chart.drawings.cancel)
        add("save_png", "Save chart as PNG…", self.save_png_interactive)
        add("shortcuts", "Keyboard shortcuts…", self.show_shortcuts, bind=False)
        self.actions["shortcuts"].setShortcuts([QtGui.QKeySequence(k) for k in shortcut("shortcuts").keys])
        chart.drawings.selection_changed.connect(self._sync_enabled)
        self._sync_enabled()

    def _add(self, action_id: str, text: str, slot, checkable: bool = False, bind: bool = True) -> QtGui.QAction:
        act = QtGui.QAction(text, self._chart)
        act.setCheckable(checkable)
        if action_id == "log_scale":
            act.toggled.connect(slot)
        elif checkable:
            act.triggered.connect(slot)
        else:
            act.triggered.connect(lambda _checked=False: slot())
        if bind:
            keys = shortcut(action_id).keys
            act.setShortcuts([QtGui.QKeySequence(k) for k in keys])
            act.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self._chart.addAction(act)
        act.setShortcutVisibleInContextMenu(True)
        self.actions[action_id] = act
        return act

    def _sync_enabled(self, *_args) -> None:
        self.actions["delete_drawing"].setEnabled(self._chart.drawings.selected_id is not None)

    def sync_state(self) -> None:
        """Check the entries that show the chart's state (type, log scale)."""
        chart = self._chart
        self.actions[TYPE_ACTIONS[chart.chart_type]].setChecked(True)
        log = self.actions["log_scale"]
        if log.isChecked() != chart.log_scale:
            log.blockSignals(True)
            log.setChecked(chart.log_scale)
            log.blockSignals(False)

    # context menu -------------------------------------------------------------------------------
    def menu(self, point: ChartPoint) -> QtWidgets.QMenu:
        """The right-click menu for a point of the chart."""
        a = self.actions
        self.sync_state()
        menu = QtWidgets.QMenu(self._chart)
        menu.setObjectName("ChartContextMenu")
        types = menu.addMenu("Chart type")
        for action_id in TYPE_ACTIONS.values():
            types.addAction(a[action_id])
        menu.addAction(a["log_scale"])
        menu.addSeparator()
        menu.addAction(a["reset_zoom"])
        menu.addAction(a["first_bar"])
        menu.addAction(a["last_bar"])
        for provider in self.providers:
            menu.addSeparator()
            provider(menu, point)
        menu.addSeparator()
        menu.addAction(a["save_png"])
        menu.addAction(a["shortcuts"])
        return menu

    def _drawing_entries(self, menu: QtWidgets.QMenu, point: ChartPoint) -> None:
        chart = self._chart
        draw = menu.addMenu("Draw")
        for action_id in DRAW_ACTIONS.values():
            draw.addAction(self.actions[action_id])
        if point.drawing_id is not None:
            drawing = next((d for d in chart.drawings.drawings() if d.id == point.drawing_id), None)
            if drawing is not None:
                if drawing.kind is DrawingKind.TEXT_NOTE:
                    edit = menu.addAction("Edit note…")
                    edit.triggered.connect(lambda _c=False, i=drawing.id: chart.drawings.edit_text(i))
                colours = menu.addMenu("Colour")
                for name, colour in DRAWING_COLORS:
                    swatch = QtGui.QPixmap(12, 12)
                    swatch.fill(QtGui.QColor(colour))
                    act = colours.addAction(QtGui.QIcon(swatch), name)
                    act.setCheckable(True)
                    act.setChecked(drawing.color.lower() == colour.lower())
                    if act.isChecked():     # a checked action with an icon shows no tick in every style: bold
                        font = act.font()
                        font.setBold(True)
                        act.setFont(font)
                        act.setText(f"{name}  ✓")
                    act.triggered.connect(lambda _c=False, i=drawing.id, c=colour: chart.drawings.set_color(i, c))
                delete = menu.addAction(f"Delete {drawing.kind.label.lower()}")
                delete.setShortcut(self.actions["delete_drawing"].shortcut())
                delete.triggered.connect(lambda _c=False, i=drawing.id: self._delete(i))
        count = len(chart.drawings.drawings())
        if count:
            remove = menu.addAction(f"Remove all {count} drawing{'s' if count != 1 else ''} on {chart.symbol}")
            remove.triggered.connect(chart.drawings.remove_all)

    def _delete(self, drawing_id: str) -> None:
        self._chart.drawings.select(drawing_id)
        self._chart.drawings.delete_selected()

    # commands -----------------------------------------------------------------------------------
    def suggested_png_name(self) -> str:
        chart = self._chart
        stem = "-".join(x for x in (chart.symbol, chart.interval) if x) or "chart"
        return str(Path.cwd() / f"{stem}-{dt.datetime.now():%Y%m%d-%H%M%S}.png")

    def save_png_interactive(self) -> bool:
        """Ask for a file name and save the chart there; False when cancelled or not written."""
        path = self.ask_png_path(self.suggested_png_name())
        if path is None:
            return False
        if not self._chart.save_png(path):
            QtWidgets.QMessageBox.warning(self._chart, "Chart not saved", f"Cannot write {path}")
            return False
        self.last_saved = Path(path)
        return True

    def show_shortcuts(self) -> None:
        from ui.dialogs.shortcuts_dialog import ShortcutsDialog

        dialog = ShortcutsDialog(self._chart.window())
        dialog.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
