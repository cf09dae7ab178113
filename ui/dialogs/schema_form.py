"""Editors generated from a JSON Schema: one widget class per schema shape, each knowing its field path.

`make_editor(schema, path, root, hints)` picks the editor for a (sub)schema: string -> line edit (or an
editable combo with suggestions, or a folder picker), enum -> combo, boolean -> check box, integer ->
spin box, number -> double spin box (line edit when unbounded), date -> date edit, date-time -> line
edit, array of strings -> comma separated line edit, `"all" | list` -> check box + list, free-form
object -> key/value table with JSON values, object -> form of its properties (group box), array of
objects -> master/detail list. Every editor shows its schema description as a tooltip and a muted
help line, and an error label the dialog fills with the validator's messages for its path.

A value the widget cannot show (wrong type, unparseable date, a field absent from the JSON) is kept
as-is and returned unchanged by `value()` until the user edits the widget, so the validator reports
it rather than the form silently replacing it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QDate, QLocale, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.file_dialogs import existing_directory

INT32_MAX = 2_147_483_647
NUMBER_LIMIT = 1e12
LABEL_WIDTH = 168
FIELD_WIDTH = 180
ERROR_COLOR = "#ef5350"
TEXT_COLOR = "#d1d4dc"
MUTED_COLOR = "#787b86"
DISABLED_COLOR = "#5d606b"
ACCENT_COLOR = "#2962ff"
PANEL_COLOR = "#1e222d"


class _Missing:
    """Marks a field absent from the edited JSON (the validator then reports it or uses its default)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_NO_PENDING: Any = object()

_WORD_LABELS = {"url": "URL", "ws": "WebSocket", "pct": "%", "qty": "qty", "bps": "(bps)", "env": "env var"}


def field_label(key: str) -> str:
    """A readable label from a property name: 'min_quality_pct' -> 'Min quality %'."""
    words = [_WORD_LABELS.get(w, w) for w in key.split("_") if w]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def resolve(schema: dict, root: dict) -> dict:
    """Follow `$ref` into `$defs` (keys next to the `$ref` override the target's)."""
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"unsupported $ref {ref!r} (only local '#/...' references)")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _fmt_number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", " ") if abs(value) >= 10_000 else str(int(value))
    return f"{value:.6f}".rstrip("0").rstrip(".")


def range_text(schema: dict) -> str:
    """The schema's numeric bounds as text, e.g. '0 … 1', '> 0', '≥ 1'."""
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    xlo = schema.get("exclusiveMinimum")
    xhi = schema.get("exclusiveMaximum")
    parts = []
    if lo is not None and hi is not None:
        return f"range {_fmt_number(lo)} … {_fmt_number(hi)}"
    if lo is not None:
        parts.append(f"≥ {_fmt_number(lo)}")
    if xlo is not None:
        parts.append(f"> {_fmt_number(xlo)}")
    if hi is not None:
        parts.append(f"≤ {_fmt_number(hi)}")
    if xhi is not None:
        parts.append(f"< {_fmt_number(xhi)}")
    return ", ".join(parts)


def help_text(schema: dict) -> str:
    """Description plus numeric range (shown under the field)."""
    desc = (schema.get("description") or "").strip()
    rng = range_text(schema)
    if rng:
        desc = f"{desc}  ({rng})" if desc else rng.capitalize()
    return desc


def tooltip_text(schema: dict, path: str) -> str:
    """Tooltip: description, range, default and the field path used in validation messages."""
    lines = [help_text(schema)] if help_text(schema) else []
    if "default" in schema:
        lines.append(f"Default: {json.dumps(schema['default'])}")
    lines.append(f"Field: {path}")
    return "\n".join(lines)


def path_pattern(path: str) -> str:
    """The path with list indices replaced by '*' ('strategies.1.interval' -> 'strategies.*.interval')."""
    return re.sub(r"(?<=\.)\d+(?=\.|$)", "*", path)


@dataclass
class FormHints:
    """Presentation hints the schema cannot express, keyed by path pattern ('strategies.*.class_path')."""

    suggestions: dict[str, Callable[[], list[str]]] = field(default_factory=dict)
    browse_dirs: frozenset[str] = frozenset()
    base_dir: Callable[[], str] = lambda: ""

    def suggestions_for(self, path: str) -> Callable[[], list[str]] | None:
        return self.suggestions.get(path_pattern(path))

    def browses_dir(self, path: str) -> bool:
        return path_pattern(path) in self.browse_dirs


def _chevron(painter: QPainter, cx: float, cy: float, up: bool, colour: str) -> None:
    """A small chevron (the combo/spin arrows; stylesheet triangles render as boxes)."""
    pen = QPen(QColor(colour), 1.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    d = -2.0 if up else 2.0
    painter.drawPolyline([QPointF(cx - 4, cy - d), QPointF(cx, cy + d), QPointF(cx + 4, cy - d)])


def _arrow_colour(widget: QWidget) -> str:
    if not widget.isEnabled():
        return DISABLED_COLOR
    return TEXT_COLOR if widget.underMouse() or widget.hasFocus() else MUTED_COLOR


class CheckBox(QCheckBox):
    """Check box drawn in the dark theme's colours (a clear box and tick on any platform style)."""

    BOX = 16

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        top = (self.height() - self.BOX) / 2
        box = QRectF(0.5, top + 0.5, self.BOX - 1, self.BOX - 1)
        enabled = self.isEnabled()
        if self.isChecked():
            fill = QColor(ACCENT_COLOR if enabled else "#2a3556")
            p.setPen(QPen(fill, 1))
            p.setBrush(fill)
            p.drawRoundedRect(box, 3, 3)
            pen = QPen(QColor("#ffffff" if enabled else "#8a90a0"), 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            p.setPen(pen)
            p.drawPolyline([QPointF(4, top + 8.5), QPointF(7, top + 11.5), QPointF(12.5, top + 5)])
        else:
            border = ACCENT_COLOR if (self.hasFocus() or self.underMouse()) and enabled else "#4a4e59"
            p.setPen(QPen(QColor(border), 1))
            p.setBrush(QColor(PANEL_COLOR))
            p.drawRoundedRect(box, 3, 3)
        if self.text():
            p.setPen(QColor(TEXT_COLOR if enabled else DISABLED_COLOR))
            rect = self.rect().adjusted(self.BOX + 8, 0, 0, 0)
            p.drawText(rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), self.text())
        p.end()

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        width = self.BOX + (8 + fm.horizontalAdvance(self.text()) if self.text() else 0)
        return QSize(width + 2, max(self.BOX + 4, fm.height() + 4))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return self.sizeHint()

    def hitButton(self, pos) -> bool:  # noqa: N802
        return self.rect().contains(pos)


def _repolish(widget: QWidget) -> None:
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


class _FocusWheel:
    """Mixin: the mouse wheel edits the field only when it has focus (scrolling the form must not)."""

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _DropChevron(_FocusWheel):
    """Mixin: paints a drop-down chevron at the right edge."""

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        _chevron(p, self.width() - 13, self.height() / 2, False, _arrow_colour(self))
        p.end()


class _SpinArrows(_FocusWheel):
    """Mixin: paints up/down chevrons in a spin box's button area; the arrows (and the wheel) step within
    the schema's bounds, while typing is never clamped: a typed 150 stays 150 and the validator says
    next to the field that it is above the maximum (the spin box itself takes any number)."""

    step_bounds: tuple[float, float] = (-math.inf, math.inf)

    def stepBy(self, steps: int) -> None:  # noqa: N802 - Qt override
        lo, hi = self.step_bounds
        value = self.value() + steps * self.singleStep()
        self.setValue(min(max(value, lo), hi))
        self.selectAll()

    def stepEnabled(self):  # noqa: N802 - Qt override
        lo, hi = self.step_bounds
        flags = QAbstractSpinBox.StepEnabledFlag.StepNone
        if self.value() < hi:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepUpEnabled
        if self.value() > lo:
            flags |= QAbstractSpinBox.StepEnabledFlag.StepDownEnabled
        return flags

    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        self._paint_arrows()

    def _paint_arrows(self) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = _arrow_colour(self)
        cx = self.width() - 11
        _chevron(p, cx, self.height() / 2 - 4.5, True, colour)
        _chevron(p, cx, self.height() / 2 + 4.5, False, colour)
        p.end()


class NoWheelSpinBox(_SpinArrows, QSpinBox):
    """Spin box that ignores the mouse wheel unless focused (scrolling the form must not edit it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lineEdit().setTextMargins(6, 0, 0, 0)


class NumberSpinBox(_SpinArrows, QDoubleSpinBox):
    """Double spin box showing numbers without trailing zeros ('0.005', '100000'), C locale."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLocale(QLocale.c())
        self.setDecimals(6)
        self.lineEdit().setTextMargins(6, 0, 0, 0)

    def textFromValue(self, value: float) -> str:  # noqa: N802
        return f"{value:.6f}".rstrip("0").rstrip(".")


class NoWheelComboBox(_DropChevron, QComboBox):
    """Combo box that ignores the wheel unless focused; refreshes dynamic suggestions on popup."""

    def __init__(self, suggest: Callable[[], list[str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._suggest = suggest

    def refresh_items(self) -> None:
        if self._suggest is None:
            return
        items = list(dict.fromkeys(self._suggest()))
        if items == [self.itemText(i) for i in range(self.count())]:
            return
        text = self.currentText()
        blocked = self.blockSignals(True)
        self.clear()
        self.addItems(items)
        self.setEditText(text)
        self.blockSignals(blocked)

    def showPopup(self) -> None:  # noqa: N802
        self.refresh_items()
        super().showPopup()


class NoWheelDateEdit(_DropChevron, QDateEdit):
    """Date edit that ignores the wheel unless focused."""


class FieldEditor(QWidget):
    """Base of all editors: a value, a field path, an error label and a help line."""

    changed = Signal()

    def __init__(
        self, schema: dict, path: str, show_help: bool = True, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.schema = schema
        self.path = path
        self._pending: Any = _NO_PENDING
        self._setting = False
        self._outer = QVBoxLayout(self)
        self._outer.setContentsMargins(0, 0, 0, 0)
        self._outer.setSpacing(3)
        self.error_label = QLabel(self)
        self.error_label.setObjectName("fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        text = help_text(schema) if show_help else ""
        self.help_label = QLabel(text, self)
        self.help_label.setObjectName("fieldHelp")
        self.help_label.setWordWrap(True)
        self.help_label.setVisible(bool(text))
        self._show_help = show_help

    def _finish(self, body: QWidget, error_on_top: bool = False) -> None:
        """Lay out body, error label and help line; set tooltips."""
        if error_on_top:
            self._outer.addWidget(self.error_label)
            self._outer.addWidget(body)
        else:
            self._outer.addWidget(body)
            self._outer.addWidget(self.error_label)
            self._outer.addWidget(self.help_label)
        tip = tooltip_text(self.schema, self.path)
        for w in self.invalid_targets():
            w.setToolTip(tip)

    # value protocol -------------------------------------------------------------------------------
    def value(self) -> Any:
        """The JSON value of this field (MISSING when absent)."""
        if self._pending is not _NO_PENDING:
            return self._pending
        return self._widget_value()

    def set_value(self, value: Any) -> None:
        """Show a JSON value; one the widget cannot show is kept and returned as-is by value()."""
        if value is MISSING:
            self.reset()
            return
        self._setting = True
        try:
            self._set_widget_value(value)
            self._pending = _NO_PENDING
        except (TypeError, ValueError, OverflowError):
            self._pending = value
        finally:
            self._setting = False

    def reset(self) -> None:
        """Back to the schema default, or MISSING when the schema has none."""
        if "default" in self.schema:
            self.set_value(self.schema["default"])
        else:
            self._pending = MISSING

    def _widget_value(self) -> Any:
        raise NotImplementedError

    def _set_widget_value(self, value: Any) -> None:
        raise NotImplementedError

    def _user_changed(self, *_args: Any) -> None:
        if self._setting:
            return
        self._pending = _NO_PENDING
        self.changed.emit()

    # structure ------------------------------------------------------------------------------------
    def input_widget(self) -> QWidget:
        """The widget the user edits (returned by the dialog's field_widget())."""
        return self

    def invalid_targets(self) -> list[QWidget]:
        """Widgets that get the red border when the field has problems."""
        return [self.input_widget()]

    def child_editors(self) -> list[FieldEditor]:
        return []

    def iter_editors(self) -> Iterator[FieldEditor]:
        """This editor and every nested one, depth first."""
        yield self
        for child in self.child_editors():
            yield from child.iter_editors()

    def set_path(self, path: str) -> None:
        self.path = path
        tip = tooltip_text(self.schema, path)
        for w in self.invalid_targets():
            w.setToolTip(tip)

    def local_problems(self) -> list[tuple[str, str]]:
        """Problems the validator cannot see (e.g. a key typed twice in a key/value table)."""
        return []

    def set_errors(self, messages: list[str]) -> None:
        """Show the validator's messages for this path (empty list clears them)."""
        text = "\n".join(messages)
        if text != self.error_label.text() or self.error_label.isHidden() == bool(messages):
            self.error_label.setText(text)
            self.error_label.setVisible(bool(messages))
            # the form lays its rows out again: else, after an error line goes, the rows below keep the
            # heights of before and the last one's wrapped help is cut (seen on the Execution page)
            self.updateGeometry()
        invalid = bool(messages)
        for w in self.invalid_targets():
            if bool(w.property("invalid")) != invalid:
                w.setProperty("invalid", invalid)
                _repolish(w)


class StringEditor(FieldEditor):
    """A string: line edit, editable combo (with suggestions) or line edit + Browse… (folders)."""

    def __init__(self, schema: dict, path: str, hints: FormHints, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        suggest = hints.suggestions_for(path)
        self._browse_button: QPushButton | None = None
        self._hints = hints
        body = QWidget(self)
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        if suggest is not None:
            combo = NoWheelComboBox(suggest, body)
            combo.setEditable(True)
            combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
            combo.setMaxVisibleItems(16)
            combo.setMinimumWidth(220)
            combo.setMaximumWidth(420)
            combo.addItems(list(dict.fromkeys(suggest())))
            combo.setEditText("")
            if combo.completer() is not None:
                combo.completer().setFilterMode(Qt.MatchFlag.MatchContains)
                combo.completer().setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
            combo.editTextChanged.connect(self._user_changed)
            self._input: QWidget = combo
        else:
            edit = QLineEdit(body)
            edit.textChanged.connect(self._user_changed)
            if "maxLength" in schema:
                edit.setMaxLength(max(int(schema["maxLength"]) + 20, 1))
            self._input = edit
        row.addWidget(self._input, 1)
        if suggest is not None:
            row.addStretch(0)
        if hints.browses_dir(path):
            self._browse_button = QPushButton("Browse…", body)
            self._browse_button.setObjectName("browseButton")
            self._browse_button.clicked.connect(self._browse)
            row.addWidget(self._browse_button)
        self._finish(body)

    def input_widget(self) -> QWidget:
        return self._input

    def _text(self) -> str:
        w = self._input
        return w.currentText() if isinstance(w, QComboBox) else w.text()

    def _widget_value(self) -> Any:
        return self._text()

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError(f"not a string: {value!r}")
        if isinstance(self._input, QComboBox):
            self._input.setEditText(value)
        else:
            self._input.setText(value)

    def _browse(self) -> None:
        start = self._text() or self._hints.base_dir()
        chosen = existing_directory(self, "Choose folder", start)
        if chosen:
            self._input.setText(chosen)  # emits textChanged -> changed


class EnumEditor(FieldEditor):
    """A fixed choice (JSON Schema enum / Literal) as a combo box."""

    def __init__(self, schema: dict, path: str, options: list[Any], parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        self._options = options
        self._combo = NoWheelComboBox(parent=self)
        for opt in options:
            self._combo.addItem(str(opt), opt)
        self._combo.currentIndexChanged.connect(self._user_changed)
        self._combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        holder = QWidget(self)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._combo)
        row.addStretch(1)
        self._finish(holder)

    def input_widget(self) -> QWidget:
        return self._combo

    def _widget_value(self) -> Any:
        return self._combo.currentData()

    def _set_widget_value(self, value: Any) -> None:
        if value not in self._options:
            raise ValueError(f"{value!r} is not one of {self._options}")
        self._combo.setCurrentIndex(self._options.index(value))


class BoolEditor(FieldEditor):
    """A boolean as a check box."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        self._check = CheckBox(self)
        self._check.toggled.connect(self._user_changed)
        self._finish(self._check)

    def input_widget(self) -> QWidget:
        return self._check

    def _widget_value(self) -> Any:
        return self._check.isChecked()

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"not a boolean: {value!r}")
        self._check.setChecked(value)


def _bounds(schema: dict, integer: bool) -> tuple[float | None, float | None]:
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    if lo is None and "exclusiveMinimum" in schema:
        lo = schema["exclusiveMinimum"] + (1 if integer else 0)
    if hi is None and "exclusiveMaximum" in schema:
        hi = schema["exclusiveMaximum"] - (1 if integer else 0)
    return lo, hi


class IntegerEditor(FieldEditor):
    """An integer as a spin box whose arrows step within the schema range; a typed value is never clamped."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        lo, hi = _bounds(schema, integer=True)
        self._lo = int(lo) if lo is not None else -INT32_MAX
        self._hi = int(hi) if hi is not None else INT32_MAX
        self._spin = NoWheelSpinBox(self)
        self._spin.setRange(-INT32_MAX, INT32_MAX)  # typing is never clamped; the validator judges the range
        self._spin.step_bounds = (self._lo, self._hi)
        self._spin.setFixedWidth(FIELD_WIDTH)
        self._spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._spin.valueChanged.connect(self._user_changed)
        holder = QWidget(self)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._spin)
        row.addStretch(1)
        self._finish(holder)

    def input_widget(self) -> QWidget:
        return self._spin

    def _widget_value(self) -> Any:
        return self._spin.value()

    def _set_widget_value(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"not an integer: {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(f"not an integer: {value!r}")
            value = int(value)
        if abs(value) > INT32_MAX:
            raise OverflowError(f"{value} does not fit a spin box")
        self._spin.setValue(value)


class NumberEditor(FieldEditor):
    """A number: spin box when the schema bounds it (arrows step within the bounds, typing is never
    clamped), else a line edit."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        lo, hi = _bounds(schema, integer=False)
        holder = QWidget(self)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        if lo is None and hi is None:
            self._spin: NumberSpinBox | None = None
            self._edit: QLineEdit | None = QLineEdit(holder)
            self._edit.setFixedWidth(FIELD_WIDTH)
            self._edit.textChanged.connect(self._user_changed)
            row.addWidget(self._edit)
        else:
            self._edit = None
            self._lo = float(lo) if lo is not None else -NUMBER_LIMIT
            self._hi = float(hi) if hi is not None else NUMBER_LIMIT
            spin = NumberSpinBox(holder)
            spin.setRange(-NUMBER_LIMIT, NUMBER_LIMIT)  # typing is never clamped; the validator judges the range
            spin.step_bounds = (self._lo, self._hi)
            span = self._hi - self._lo
            spin.setSingleStep(0.01 if span <= 1 else 0.1 if span <= 10 else 1.0)
            spin.setFixedWidth(FIELD_WIDTH)
            spin.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            spin.valueChanged.connect(self._user_changed)
            self._spin = spin
            row.addWidget(spin)
        row.addStretch(1)
        self._finish(holder)

    def input_widget(self) -> QWidget:
        return self._spin if self._spin is not None else self._edit

    def _widget_value(self) -> Any:
        if self._spin is not None:
            return float(self._spin.value())
        text = self._edit.text().strip()
        try:
            return float(text)
        except ValueError:
            return text

    def _set_widget_value(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"not a number: {value!r}")
        if self._spin is None:
            self._edit.setText(_fmt_plain(value))
            return
        if abs(value) > NUMBER_LIMIT:
            raise OverflowError(f"{value} does not fit a spin box")
        self._spin.setValue(float(value))
        if abs(self._spin.value() - value) > 1e-9 * max(1.0, abs(value)):
            raise ValueError(f"{value!r} needs more than 6 decimals")


def _fmt_plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class DateEditor(FieldEditor):
    """A date (ISO 'YYYY-MM-DD') as a date edit with a calendar popup."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        self._date = NoWheelDateEdit(self)
        self._date.setCalendarPopup(True)
        self._date.setDisplayFormat("yyyy-MM-dd")
        self._date.setFixedWidth(FIELD_WIDTH)
        self._date.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._date.dateChanged.connect(self._user_changed)
        holder = QWidget(self)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._date)
        row.addStretch(1)
        self._finish(holder)

    def input_widget(self) -> QWidget:
        return self._date

    def _widget_value(self) -> Any:
        return self._date.date().toString("yyyy-MM-dd")

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, str):
            raise TypeError(f"not a date string: {value!r}")
        day = dt.date.fromisoformat(value.strip())
        self._date.setDate(QDate(day.year, day.month, day.day))


class LineEditEditor(FieldEditor):
    """A field edited as one line of text (subclasses turn the text into the JSON value)."""

    def __init__(
        self, schema: dict, path: str, placeholder: str, width: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(schema, path, parent=parent)
        self._edit = QLineEdit(self)
        self._edit.setPlaceholderText(placeholder)
        if width is not None:
            self._edit.setFixedWidth(width)
        self._edit.textChanged.connect(self._user_changed)
        self._finish(self._edit)

    def input_widget(self) -> QWidget:
        return self._edit


class TextValueEditor(LineEditEditor):
    """A date-time or other free text, optionally nullable (empty text = null)."""

    def __init__(
        self, schema: dict, path: str, nullable: bool, placeholder: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(schema, path, placeholder, parent=parent)
        self._nullable = nullable

    def _widget_value(self) -> Any:
        text = self._edit.text().strip()
        return None if (self._nullable and not text) else text

    def _set_widget_value(self, value: Any) -> None:
        if value is None and self._nullable:
            self._edit.setText("")
            return
        if not isinstance(value, str):
            raise TypeError(f"not a string: {value!r}")
        self._edit.setText(value)


def empty_placeholder(schema: dict) -> str:
    """The placeholder of a field that may be left empty (null): what empty means, from the schema's
    `empty` (the config model's json_schema_extra: "off", "no limit", ...), else "default"; a date's
    or a time's format before it."""
    meaning = f"empty = {schema.get('empty') or 'default'}"
    fmt = {"date-time": "YYYY-MM-DD HH:MM:SS", "date": "YYYY-MM-DD"}.get(schema.get("format", ""))
    return f"{fmt} ({meaning})" if fmt else meaning


class OptionalNumberEditor(LineEditEditor):
    """A number that may be left empty: empty = null, and the default the field's help describes."""

    def __init__(self, schema: dict, path: str, integer: bool, placeholder: str = "empty = default",
                 parent: QWidget | None = None) -> None:
        super().__init__(schema, path, placeholder, width=FIELD_WIDTH, parent=parent)
        self._integer = integer

    def _widget_value(self) -> Any:
        text = self._edit.text().strip()
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            return text  # not a number: validation names the problem next to the field
        return int(number) if self._integer and number.is_integer() else number

    def _set_widget_value(self, value: Any) -> None:
        if value is None:
            self._edit.setText("")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"not a number: {value!r}")
        self._edit.setText(f"{value:g}")


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class StringListEditor(LineEditEditor):
    """A list of strings as one comma separated line edit ('AAPL, MSFT')."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, "comma separated, e.g. a, b, c", parent=parent)

    def _widget_value(self) -> Any:
        return _split_list(self._edit.text())

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, str) and "," not in v for v in value):
            raise TypeError(f"not a list of strings: {value!r}")
        self._edit.setText(", ".join(value))


class AllOrListEditor(FieldEditor):
    """`"all" | list[str]`: an 'All …' check box and a comma separated list used when unchecked."""

    def __init__(self, schema: dict, path: str, const: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        self._const = const
        key = path.rsplit(".", 1)[-1]
        body = QWidget(self)
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        self._check = CheckBox(f"{const.capitalize()} {field_label(key).lower()}", body)
        self._edit = QLineEdit(body)
        self._edit.setPlaceholderText("comma separated, e.g. AAPL, MSFT")
        self._check.toggled.connect(self._on_toggled)
        self._edit.textChanged.connect(self._user_changed)
        row.addWidget(self._check)
        row.addWidget(self._edit, 1)
        self._finish(body)

    def _on_toggled(self, checked: bool) -> None:
        self._edit.setEnabled(not checked)
        self._user_changed()

    def input_widget(self) -> QWidget:
        return self._edit

    def invalid_targets(self) -> list[QWidget]:
        return [self._edit]

    def all_checkbox(self) -> CheckBox:
        return self._check

    def _widget_value(self) -> Any:
        return self._const if self._check.isChecked() else _split_list(self._edit.text())

    def _set_widget_value(self, value: Any) -> None:
        if value == self._const:
            self._check.setChecked(True)
            self._edit.setEnabled(False)
            return
        if not isinstance(value, list) or not all(isinstance(v, str) and "," not in v for v in value):
            raise TypeError(f"neither {self._const!r} nor a list of strings: {value!r}")
        self._check.setChecked(False)
        self._edit.setEnabled(True)
        self._edit.setText(", ".join(value))


class JsonValueEditor(LineEditEditor):
    """Fallback for shapes without a dedicated editor: the value as one line of JSON."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, "JSON value", parent=parent)

    def _widget_value(self) -> Any:
        text = self._edit.text().strip()
        if not text:
            return MISSING
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text

    def _set_widget_value(self, value: Any) -> None:
        self._edit.setText(json.dumps(value))


def _json_cell(text: str) -> Any:
    """A key/value cell: JSON when it parses, else the text itself as a string."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass(frozen=True)
class OfferedKey:
    """A key a free-form object's owner takes (a strategy class's parameter) and its default."""

    name: str
    default: Any = None
    required: bool = False          # no default: the owner needs it

    def text(self) -> str:
        """The default as shown: its JSON, "required" when there is none."""
        return "required" if self.required else self.value_text()

    def value_text(self) -> str:
        """The default's JSON for a value cell ("" when required or not JSON)."""
        if self.required:
            return ""
        try:
            return json.dumps(self.default)
        except (TypeError, ValueError):
            return ""


class KeyValueEditor(FieldEditor):
    """A free-form object (e.g. strategy params) as a two-column table: key, JSON value."""

    def __init__(self, schema: dict, path: str, parent: QWidget | None = None) -> None:
        super().__init__(schema, path, parent=parent)
        body = QWidget(self)
        col = QVBoxLayout(body)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(4)
        self._table = QTableWidget(0, 2, body)
        self._table.setHorizontalHeaderLabels(["Key", "Value (JSON)"])
        # keys as wide as the longest (flat_minutes_before_close), the values the rest
        self._table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self._table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self._table.verticalHeader().hide()
        self._table.verticalHeader().setDefaultSectionSize(26)
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setMinimumHeight(120)
        self._table.setMaximumHeight(190)
        self._table.itemChanged.connect(self._user_changed)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self._add = QPushButton("Add", body)
        self._remove = QPushButton("Remove", body)
        self._add.clicked.connect(self._on_add)
        self._remove.clicked.connect(self._remove_selected)
        buttons.addWidget(self._add)
        buttons.addWidget(self._remove)
        buttons.addStretch(1)
        # keys the owner takes that the table does not give, with their defaults (`set_offered`)
        self._offered: dict[str, OfferedKey] = {}
        self._offered_label = QLabel(body)
        self._offered_label.setObjectName("fieldHelp")
        self._offered_label.setWordWrap(True)
        self._offered_label.hide()
        col.addWidget(self._table)
        col.addLayout(buttons)
        col.addWidget(self._offered_label)
        self._finish(body)

    def input_widget(self) -> QWidget:
        return self._table

    def table(self) -> QTableWidget:
        return self._table

    def add_row(self, key: str = "", value_text: str = "") -> None:
        """Append a key/value row (focused for typing when added by the button)."""
        self._setting = True
        row = self._table.rowCount()
        self._table.insertRow(row)
        self._table.setItem(row, 0, QTableWidgetItem(key if isinstance(key, str) else ""))
        self._table.setItem(row, 1, QTableWidgetItem(value_text))
        self._setting = False
        if not key:
            self._table.setCurrentCell(row, 0)
            self._table.editItem(self._table.item(row, 0))
        self._user_changed()

    def set_offered(self, offered: list[OfferedKey]) -> None:
        """The keys the object's owner takes (a strategy's params: its class's constructor's), in its
        order. Those the table does not give are named under it with their defaults, and Add offers
        them (`offer_menu`); empty: none known (Add adds a blank row)."""
        self._offered = {key.name: key for key in offered}
        self._show_offered()

    def missing_offered(self) -> list[OfferedKey]:
        """The offered keys the table does not give, in the owner's order."""
        given = {k for k, _ in self._rows()}
        return [key for name, key in self._offered.items() if name not in given]

    def _show_offered(self) -> None:
        missing = self.missing_offered()
        self._offered_label.setVisible(bool(missing))
        if missing:
            shown = " · ".join(f"{key.name} {key.text()}" for key in missing)
            self._offered_label.setText(f"Not given, so the defaults: {shown}. Add sets one.")

    def offer_menu(self) -> QMenu | None:
        """Add's menu: each offered key not given yet (with its default), then a blank row; None when
        nothing is offered (Add adds a blank row at once)."""
        missing = self.missing_offered()
        if not missing:
            return None
        menu = QMenu(self._add)
        for key in missing:
            action = menu.addAction(f"{key.name}  ({key.text()})")
            action.triggered.connect(lambda _checked=False, key=key: self.add_offered(key.name))
        menu.addSeparator()
        menu.addAction("Another key…").triggered.connect(lambda _checked=False: self.add_row())
        return menu

    def add_offered(self, name: str) -> None:
        """Add the offered key `name` with its default as the value, the value cell open for typing."""
        key = self._offered[name]
        self.add_row(name, key.value_text())
        row = self._table.rowCount() - 1
        self._table.setCurrentCell(row, 1)
        self._table.editItem(self._table.item(row, 1))

    def _on_add(self) -> None:
        menu = self.offer_menu()
        if menu is None:
            self.add_row()
            return
        menu.exec(self._add.mapToGlobal(self._add.rect().bottomLeft()))
        menu.deleteLater()

    def _user_changed(self, *args: Any) -> None:
        super()._user_changed(*args)
        if self._offered:
            self._show_offered()

    def _remove_selected(self) -> None:
        rows = sorted({i.row() for i in self._table.selectedIndexes()}, reverse=True)
        if not rows and self._table.currentRow() >= 0:
            rows = [self._table.currentRow()]
        for r in rows:
            self._table.removeRow(r)
        if rows:
            self._user_changed()

    def _rows(self) -> list[tuple[str, str]]:
        out = []
        for r in range(self._table.rowCount()):
            k = self._table.item(r, 0)
            v = self._table.item(r, 1)
            out.append(((k.text() if k else "").strip(), v.text() if v else ""))
        return out

    def _widget_value(self) -> Any:
        return {k: _json_cell(v) for k, v in self._rows() if k}

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"not an object: {value!r}")
        blocked = self._table.blockSignals(True)
        self._table.setRowCount(0)
        for k, v in value.items():
            r = self._table.rowCount()
            self._table.insertRow(r)
            self._table.setItem(r, 0, QTableWidgetItem(str(k)))
            self._table.setItem(r, 1, QTableWidgetItem(json.dumps(v)))
        self._table.blockSignals(blocked)
        self._show_offered()

    def local_problems(self) -> list[tuple[str, str]]:
        keys = [k for k, _ in self._rows()]
        out = []
        for dup in sorted({k for k in keys if k and keys.count(k) > 1}):
            out.append((self.path, f"key {dup!r} is given twice; only the last value would be kept"))
        for k, v in self._rows():
            if not k and v.strip():
                out.append((self.path, f"a value ({v.strip()}) has no key"))
        return out


class ObjectEditor(FieldEditor):
    """An object with properties as a form (QFormLayout); a group box when nested, flat as a page."""

    def __init__(
        self,
        schema: dict,
        path: str,
        root: dict,
        hints: FormHints,
        flat: bool = False,
        keys: list[str] | None = None,
        title: str | None = None,
        show_description: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(schema, path, show_help=False, parent=parent)
        self._root = root
        self._props: dict[str, dict] = {
            k: resolve(v, root) for k, v in schema.get("properties", {}).items() if keys is None or k in keys
        }
        self._required = set(schema.get("required", []))
        self._owns_all_keys = keys is None
        self._extras: dict[str, Any] = {}
        self._children: dict[str, FieldEditor] = {}
        if flat:
            frame: QWidget = QFrame(self)
            frame.setObjectName("flatForm")
        else:
            frame = QGroupBox(title or field_label(path.rsplit(".", 1)[-1]), self)
        self._frame = frame
        col = QVBoxLayout(frame)
        col.setContentsMargins(*((0, 0, 0, 0) if flat else (12, 10, 12, 10)))
        col.setSpacing(8)
        desc = (schema.get("description") or "").strip()
        if show_description and desc and not flat:
            d = QLabel(desc, frame)
            d.setObjectName("fieldHelp")
            d.setWordWrap(True)
            col.addWidget(d)
        self.error_label.setObjectName("sectionError")
        col.addWidget(self.error_label)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(12)
        self._form = form
        col.addLayout(form)
        for key, sub in self._props.items():
            child_path = f"{path}.{key}" if path else key
            editor = make_editor(sub, child_path, root, hints, title=field_label(key), parent=frame)
            editor.changed.connect(self._child_changed)
            self._children[key] = editor
            if isinstance(editor, ObjectEditor | ObjectListEditor):
                form.addRow(editor)
            else:
                label = QLabel(field_label(key) + (" *" if key in self._required else ""), frame)
                label.setObjectName("fieldLabel")
                label.setMinimumWidth(LABEL_WIDTH if flat else LABEL_WIDTH - 14)
                label.setToolTip(tooltip_text(sub, child_path))
                label.setBuddy(editor.input_widget())
                form.addRow(label, editor)
        self._outer.addWidget(frame)
        if flat:
            self._outer.addStretch(1)

    def _child_changed(self) -> None:
        if self._setting:
            return
        self._pending = _NO_PENDING
        self.changed.emit()

    def child(self, key: str) -> FieldEditor:
        return self._children[key]

    def child_keys(self) -> list[str]:
        return list(self._children)

    def child_editors(self) -> list[FieldEditor]:
        return list(self._children.values())

    def input_widget(self) -> QWidget:
        return self._frame

    def invalid_targets(self) -> list[QWidget]:
        return []

    def set_path(self, path: str) -> None:
        self.path = path
        for key, child in self._children.items():
            child.set_path(f"{path}.{key}" if path else key)

    def reset(self) -> None:
        if "default" in self.schema:
            self.set_value(self.schema["default"])
        else:
            self.set_value({})

    def _widget_value(self) -> Any:
        out: dict[str, Any] = {}
        for key, child in self._children.items():
            v = child.value()
            if v is not MISSING:
                out[key] = v
        out.update(self._extras)
        return out

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise TypeError(f"not an object: {value!r}")
        for key, child in self._children.items():
            if key in value:
                child.set_value(value[key])
            else:
                child.reset()
        if self._owns_all_keys:
            self._extras = {k: v for k, v in value.items() if k not in self._children}


def _item_title(value: Any, index: int) -> str:
    if isinstance(value, dict) and isinstance(value.get("name"), str) and value["name"].strip():
        return value["name"].strip()
    return f"#{index + 1} (unnamed)"


def _singular(key: str) -> str:
    if key.endswith("ies"):
        return key[:-3] + "y"
    return key[:-1] if key.endswith("s") else key


class ObjectListEditor(FieldEditor):
    """An array of objects as a master/detail editor: a list with Add/Duplicate/Remove and one form per item."""

    def __init__(
        self,
        schema: dict,
        path: str,
        root: dict,
        hints: FormHints,
        flat: bool = False,
        title: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(schema, path, show_help=False, parent=parent)
        self._root = root
        self._hints = hints
        self._item_schema = resolve(schema.get("items", {}), root)
        self._items: list[ObjectEditor] = []
        self._invalid_rows: set[int] = set()
        self._flat = flat
        if flat:
            frame: QWidget = QFrame(self)
            frame.setObjectName("flatForm")
        else:
            frame = QGroupBox(title or field_label(path.rsplit(".", 1)[-1]), self)
        self._frame = frame
        col = QVBoxLayout(frame)
        col.setContentsMargins(*((0, 0, 0, 0) if flat else (12, 10, 12, 10)))
        col.setSpacing(8)
        desc = (schema.get("description") or "").strip()
        if desc and not flat:
            d = QLabel(desc, frame)
            d.setObjectName("fieldHelp")
            d.setWordWrap(True)
            col.addWidget(d)
        self.error_label.setObjectName("sectionError")
        col.addWidget(self.error_label)
        row = QHBoxLayout()
        row.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(6)
        self._list = QListWidget(frame)
        self._list.setObjectName("itemList")
        self._list.setFixedWidth(210)
        self._list.currentRowChanged.connect(self._on_row)
        left.addWidget(self._list, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(4)
        self._add_button = QPushButton("Add", frame)
        self._dup_button = QPushButton("Duplicate", frame)
        self._remove_button = QPushButton("Remove", frame)
        for b in (self._add_button, self._dup_button, self._remove_button):
            b.setObjectName("smallButton")
            buttons.addWidget(b)
        self._add_button.clicked.connect(self.add_item)
        self._dup_button.clicked.connect(self.duplicate_current)
        self._remove_button.clicked.connect(self.remove_current)
        left.addLayout(buttons)
        row.addLayout(left)
        self._stack = QStackedWidget(frame)
        self._empty = QLabel(
            f"No {field_label(path.rsplit('.', 1)[-1]).lower()} yet. Click Add to create one.", frame
        )
        self._empty.setObjectName("fieldHelp")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._stack.addWidget(self._empty)
        if flat:
            scroll = QScrollArea(frame)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setWidget(self._stack)
            row.addWidget(scroll, 1)
        else:
            self._list.setMinimumHeight(150)
            row.addWidget(self._stack, 1)
        col.addLayout(row, 1)
        self._outer.addWidget(frame, 1)
        self._update_buttons()

    # structure ------------------------------------------------------------------------------------
    def input_widget(self) -> QWidget:
        return self._list

    def invalid_targets(self) -> list[QWidget]:
        return []

    def list_widget(self) -> QListWidget:
        return self._list

    def item_editors(self) -> list[ObjectEditor]:
        return list(self._items)

    def child_editors(self) -> list[FieldEditor]:
        return list(self._items)

    def set_path(self, path: str) -> None:
        self.path = path
        for i, item in enumerate(self._items):
            item.set_path(f"{path}.{i}")

    def select(self, index: int) -> None:
        if 0 <= index < len(self._items):
            self._list.setCurrentRow(index)

    # items ----------------------------------------------------------------------------------------
    def _make_item(self, index: int) -> ObjectEditor:
        editor = ObjectEditor(
            self._item_schema,
            f"{self.path}.{index}",
            self._root,
            self._hints,
            flat=True,
            show_description=False,
        )
        editor.changed.connect(self._item_changed)
        return editor

    def _resize_items(self, count: int) -> None:
        while len(self._items) > count:
            editor = self._items.pop()
            self._stack.removeWidget(editor)
            editor.deleteLater()
            self._list.takeItem(self._list.count() - 1)
        while len(self._items) < count:
            editor = self._make_item(len(self._items))
            self._items.append(editor)
            self._stack.addWidget(editor)
            self._list.addItem(QListWidgetItem(""))

    def _refresh_titles(self) -> None:
        for i, editor in enumerate(self._items):
            item = self._list.item(i)
            title = _item_title(editor.value(), i)
            invalid = i in self._invalid_rows
            item.setText(("● " if invalid else "") + title)
            item.setData(Qt.ItemDataRole.UserRole, invalid)
            item.setForeground(QColor(ERROR_COLOR if invalid else TEXT_COLOR))

    def _on_row(self, row: int) -> None:
        self._stack.setCurrentIndex(row + 1 if 0 <= row < len(self._items) else 0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        has = 0 <= self._list.currentRow() < len(self._items)
        self._dup_button.setEnabled(has)
        self._remove_button.setEnabled(has)

    def _item_changed(self) -> None:
        if self._setting:
            return
        self._pending = _NO_PENDING
        self._refresh_titles()
        self.changed.emit()

    def _unique_name(self, base: str) -> str:
        """`base` if free (and not ending in '_'), else `<base>_<n>` with the first free n."""
        names = {e.value().get("name") for e in self._items if isinstance(e.value(), dict)}
        if not base.endswith("_") and base not in names:
            return base
        stem = base.rstrip("_")
        n = len(self._items) + 1 if base.endswith("_") else 2
        while f"{stem}_{n}" in names:
            n += 1
        return f"{stem}_{n}"

    def new_item_value(self) -> dict:
        """A new item: schema defaults, first option of required choices, a unique name."""
        value: dict[str, Any] = {}
        required = set(self._item_schema.get("required", []))
        key = self.path.rsplit(".", 1)[-1]
        for prop, sub in self._item_schema.get("properties", {}).items():
            sub = resolve(sub, self._root)
            if "default" in sub:
                continue
            if prop == "name":
                value[prop] = self._unique_name(f"{_singular(key)}_")
            elif "enum" in sub and prop in required:
                value[prop] = sub["enum"][0]
            elif prop in required and sub.get("type") == "string":
                suggest = self._hints.suggestions_for(f"{self.path}.0.{prop}")
                options = suggest() if suggest else []
                value[prop] = options[0] if options else ""
        return value

    def _append(self, value: Any) -> None:
        self._pending = _NO_PENDING
        self._setting = True
        try:
            self._resize_items(len(self._items) + 1)
            self._items[-1].set_value(value)
        finally:
            self._setting = False
        self._refresh_titles()
        self._list.setCurrentRow(len(self._items) - 1)
        self.changed.emit()

    def add_item(self) -> None:
        """Append a new item with defaults and select it."""
        self._append(self.new_item_value())

    def duplicate_current(self) -> None:
        """Append a copy of the selected item (renamed '<name>_copy') and select it."""
        row = self._list.currentRow()
        if not 0 <= row < len(self._items):
            return
        value = json.loads(json.dumps(self._items[row].value()))
        if isinstance(value, dict) and isinstance(value.get("name"), str):
            value["name"] = self._unique_name(value["name"] + "_copy")
        self._append(value)

    def remove_current(self) -> None:
        """Remove the selected item; later items move up (their field paths are renumbered)."""
        row = self._list.currentRow()
        if not 0 <= row < len(self._items):
            return
        values = [e.value() for i, e in enumerate(self._items) if i != row]
        self._pending = _NO_PENDING
        self._setting = True
        try:
            self._resize_items(len(values))
            for editor, v in zip(self._items, values, strict=True):
                editor.set_value(v)
        finally:
            self._setting = False
        self._refresh_titles()
        self._list.setCurrentRow(min(row, len(self._items) - 1))
        self._on_row(self._list.currentRow())
        self.changed.emit()

    # value ----------------------------------------------------------------------------------------
    def _widget_value(self) -> Any:
        return [e.value() for e in self._items]

    def _set_widget_value(self, value: Any) -> None:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise TypeError(f"not a list of objects: {value!r}")
        current = self._list.currentRow()
        self._resize_items(len(value))
        for editor, v in zip(self._items, value, strict=True):
            editor.set_value(v)
        self._refresh_titles()
        if self._items:
            self._list.setCurrentRow(current if 0 <= current < len(self._items) else 0)
        self._on_row(self._list.currentRow())

    def reset(self) -> None:
        if "default" in self.schema:
            self.set_value(self.schema["default"])
        else:
            self.set_value([])

    def mark_invalid_rows(self, rows: set[int]) -> None:
        """Mark the items that contain problems (red dot in the list)."""
        if rows != self._invalid_rows:
            self._invalid_rows = set(rows)
            self._refresh_titles()

    def invalid_rows(self) -> set[int]:
        return set(self._invalid_rows)


def make_editor(
    schema: dict,
    path: str,
    root: dict,
    hints: FormHints,
    title: str | None = None,
    flat: bool = False,
    parent: QWidget | None = None,
) -> FieldEditor:
    """The editor for one (sub)schema at `path`."""
    schema = resolve(schema, root)
    variants = [resolve(v, root) for v in schema.get("anyOf", [])]
    if variants:
        base = {k: v for k, v in schema.items() if k != "anyOf"}
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) < len(variants)
        consts = [v["const"] for v in non_null if "const" in v]
        arrays = [v for v in non_null if v.get("type") == "array"]
        if len(consts) == 1 and len(arrays) == 1 and len(non_null) == 2 and not nullable:
            return AllOrListEditor(base, path, consts[0], parent=parent)
        if len(non_null) == 1:
            merged = {**non_null[0], **base}
            if not nullable:
                return make_editor(merged, path, root, hints, title=title, flat=flat, parent=parent)
            placeholder = empty_placeholder(merged)
            if merged.get("type") == "string":
                return TextValueEditor(merged, path, nullable=True, placeholder=placeholder, parent=parent)
            if merged.get("type") in ("number", "integer"):
                return OptionalNumberEditor(merged, path, merged["type"] == "integer", placeholder, parent=parent)
        return JsonValueEditor(schema, path, parent=parent)
    if "enum" in schema:
        return EnumEditor(schema, path, list(schema["enum"]), parent=parent)
    if "const" in schema:
        return EnumEditor(schema, path, [schema["const"]], parent=parent)
    kind = schema.get("type")
    if kind == "object":
        if schema.get("properties"):
            return ObjectEditor(schema, path, root, hints, flat=flat, title=title, parent=parent)
        return KeyValueEditor(schema, path, parent=parent)
    if kind == "array":
        items = resolve(schema.get("items", {}), root)
        if items.get("type") == "object" and items.get("properties"):
            return ObjectListEditor(schema, path, root, hints, flat=flat, title=title, parent=parent)
        if items.get("type") == "string" and "enum" not in items:
            return StringListEditor(schema, path, parent=parent)
        return JsonValueEditor(schema, path, parent=parent)
    if kind == "boolean":
        return BoolEditor(schema, path, parent=parent)
    if kind == "integer":
        return IntegerEditor(schema, path, parent=parent)
    if kind == "number":
        return NumberEditor(schema, path, parent=parent)
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date":
            return DateEditor(schema, path, parent=parent)
        if fmt == "date-time":
            return TextValueEditor(
                schema, path, nullable=False, placeholder="YYYY-MM-DD HH:MM:SS", parent=parent
            )
        return StringEditor(schema, path, hints, parent=parent)
    return JsonValueEditor(schema, path, parent=parent)


def leaf_paths(schema: dict, root: dict, prefix: str = "") -> list[str]:
    """Paths of every field of `schema` that has its own editor, not descending into arrays."""
    schema = resolve(schema, root)
    out = []
    for key, sub in schema.get("properties", {}).items():
        sub = resolve(sub, root)
        path = f"{prefix}.{key}" if prefix else key
        if sub.get("type") == "object" and sub.get("properties"):
            out.extend(leaf_paths(sub, root, path))
        else:
            out.append(path)
    return out


__all__ = [
    "MISSING",
    "AllOrListEditor",
    "BoolEditor",
    "DateEditor",
    "EnumEditor",
    "FieldEditor",
    "FormHints",
    "IntegerEditor",
    "KeyValueEditor",
    "OfferedKey",
    "NumberEditor",
    "ObjectEditor",
    "ObjectListEditor",
    "StringEditor",
    "StringListEditor",
    "TextValueEditor",
    "field_label",
    "help_text",
    "leaf_paths",
    "make_editor",
    "path_pattern",
    "resolve",
]
