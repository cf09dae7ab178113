"""The dark theme's combo popups: an editable combo (the config editor's exchange, the import dialog's
time zone) listed its choices in bare 16-pixel rows beside the padded rows of every other combo."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def _row_height(qtbot, editable: bool) -> int:
    combo = QComboBox()
    combo.setEditable(editable)
    combo.addItems(["XNYS", "XNAS", "NYSE", "NASDAQ"])
    qtbot.addWidget(combo)
    combo.show()
    combo.showPopup()
    try:
        return combo.view().visualRect(combo.model().index(1, 0)).height()
    finally:
        combo.hidePopup()


def test_an_editable_combos_choices_are_rows_as_tall_as_any_combos(qtbot, ui_themed):
    plain, editable = _row_height(qtbot, False), _row_height(qtbot, True)
    assert editable >= 22
    assert abs(editable - plain) <= 2, (editable, plain)
