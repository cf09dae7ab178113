"""The session config editor: a form generated from the config JSON Schema, validated as you type.

Sections (left navigation) hold the schema's top-level fields; a Raw JSON page mirrors the form both
ways. Every change (debounced) rebuilds the config dict and runs `validate_config_dict`, then the
engine's pre-flight checks (`workstation.preflight`: symbols in the bar store, bars in the date range,
trading days, strategy import paths and the parameters their constructors accept) - the same checks
as `workstation validate` and `workstation run`; each problem is shown next to the field its path
names, section-level problems at the top of the section, and the navigation shows a problem count per
section. Save/Run are enabled only for a config that would run.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRectF,
    QSignalBlocker,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QPainter,
    QPalette,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.schema_form import (
    MISSING,
    FieldEditor,
    FormHints,
    KeyValueEditor,
    ObjectEditor,
    ObjectListEditor,
    OfferedKey,
    make_editor,
    resolve,
)
from ui.file_dialogs import save_file_name
from ui.screen_fit import fit_to_screen
from workstation.config import (
    BUILTIN_STRATEGIES,
    config_for_bars,
    config_json_schema,
    pretty_json,
    read_config_text,
    save_config_edits,
    validate_config_dict,
)
from workstation.errors import ConfigError, WorkstationError
from workstation.preflight import PreflightCache, preflight_problems

log = logging.getLogger(__name__)

BACKGROUND = "#131722"
PANEL = "#1e222d"
BORDER = "#2a2e39"
TEXT = "#d1d4dc"
MUTED = "#787b86"
ACCENT = "#2962ff"
UP = "#26a69a"
DOWN = "#ef5350"
DEBOUNCE_MS = 200
JSON_PROBLEM_PATH = "(json)"
CONFIG_PROBLEM_PATH = "(config)"

# Section title and the top-level schema properties it shows (properties not listed go to General).
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("General", ("name", "mode", "exchange", "timezone", "session_hours")),
    ("Symbols & streams", ("symbols", "streams")),
    ("Historical", ("historical",)),
    ("Quality & gap filler", ("gap_filler",)),
    ("Backtest", ("backtest",)),
    ("Strategies", ("strategies",)),
    ("Risk", ("risk",)),
    ("Execution", ("execution",)),
    ("Data source", ("data_source", "prices")),
    ("Live", ("live",)),
)
RAW_SECTION = "Raw JSON"

_FALLBACK_NEW_CONFIG: dict[str, Any] = {
    "name": "New session",
    "mode": "backtest",
    "symbols": ["AAPL", "MSFT"],
    "backtest": {"start_date": "2024-11-25", "end_date": "2024-12-03"},
    "strategies": [],
}

_CROSS_FIELD_PATH = re.compile(r"^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*)\s")

STYLE_SHEET = f"""
QDialog#configEditor {{ background: {BACKGROUND}; }}
QWidget {{ color: {TEXT}; font-size: 13px; }}
QFrame#pageContent, QFrame#flatForm, QStackedWidget, QScrollArea, QScrollArea > QWidget > QWidget {{
    background: {BACKGROUND};
}}
QLabel {{ background: transparent; }}
QLabel#sectionTitle {{ font-size: 18px; font-weight: 600; color: #e8eaf0; }}
QLabel#sectionDesc {{ color: {MUTED}; font-size: 12px; }}
QLabel#fieldHelp {{ color: {MUTED}; font-size: 11px; }}
QLabel#fieldLabel {{ color: #b2b5be; padding-top: 0px; }}
QLabel#fieldError {{ color: {DOWN}; font-size: 12px; }}
QLabel#sectionError, QLabel#rawError {{
    color: #ffb3b1; background: rgba(239, 83, 80, 0.12); border: 1px solid rgba(239, 83, 80, 0.55);
    border-radius: 4px; padding: 6px 8px; font-size: 12px;
}}
QLabel#fileLabel {{ color: {MUTED}; font-size: 12px; }}
QLineEdit, QAbstractSpinBox, QComboBox, QPlainTextEdit, QTableWidget, QListWidget#itemList {{
    background: {PANEL}; border: 1px solid {BORDER}; border-radius: 4px;
    selection-background-color: {ACCENT}; selection-color: #ffffff;
}}
QLineEdit, QAbstractSpinBox, QComboBox {{ padding: 4px 6px; min-height: 20px; }}
QAbstractSpinBox {{ padding-right: 22px; }}
QLineEdit:focus, QAbstractSpinBox:focus, QComboBox:focus, QPlainTextEdit:focus, QTableWidget:focus,
QListWidget#itemList:focus {{ border: 1px solid {ACCENT}; }}
QLineEdit:disabled, QAbstractSpinBox:disabled, QComboBox:disabled {{ color: #5d606b; background: #181b25; }}
QLineEdit[invalid="true"], QAbstractSpinBox[invalid="true"], QComboBox[invalid="true"],
QTableWidget[invalid="true"] {{ border: 1px solid {DOWN}; background: #261a22; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{
    subcontrol-origin: border; width: 18px; border: none; background: transparent;
}}
QAbstractSpinBox::up-button {{ subcontrol-position: top right; }}
QAbstractSpinBox::down-button {{ subcontrol-position: bottom right; }}
QAbstractSpinBox::up-arrow, QAbstractSpinBox::down-arrow, QComboBox::down-arrow, QDateEdit::down-arrow {{
    image: none; border: none; width: 0; height: 0;
}}
QComboBox::drop-down, QDateEdit::drop-down {{ border: none; width: 22px; subcontrol-position: center right; }}
QComboBox QAbstractItemView {{
    background: {PANEL}; border: 1px solid {BORDER}; selection-background-color: {ACCENT}; outline: 0;
}}
QCheckBox {{ spacing: 8px; background: transparent; }}
QGroupBox {{
    border: 1px solid {BORDER}; border-radius: 6px; margin-top: 14px; padding-top: 8px;
    background: #171b26;
}}
QGroupBox::title {{
    subcontrol-origin: margin; subcontrol-position: top left; left: 10px; padding: 0 6px;
    color: #e8eaf0; background: {BACKGROUND};
}}
QGroupBox QFrame#flatForm, QGroupBox QStackedWidget {{ background: #171b26; }}
QPushButton {{
    background: #2a2e39; border: 1px solid #363a45; border-radius: 4px; padding: 6px 16px; color: {TEXT};
}}
QPushButton:hover {{ background: #363a45; }}
QPushButton:pressed {{ background: {PANEL}; }}
QPushButton:disabled {{ color: #5d606b; background: {PANEL}; border-color: {BORDER}; }}
QPushButton#primaryButton {{ background: {ACCENT}; border-color: {ACCENT}; color: #ffffff; }}
QPushButton#primaryButton:hover {{ background: #1e53e5; }}
QPushButton#primaryButton:disabled {{ background: #1b2a57; border-color: #1b2a57; color: #6f7dab; }}
QPushButton#smallButton, QPushButton#browseButton {{ padding: 4px 8px; }}
QPushButton#statusButton {{ background: transparent; border: none; padding: 4px 2px; text-align: left; }}
QPushButton#statusButton[state="ok"] {{ color: {UP}; }}
QPushButton#statusButton[state="bad"] {{ color: {DOWN}; }}
QPushButton#statusButton[state="bad"]:hover {{ text-decoration: underline; }}
QListWidget#sectionNav {{
    background: {PANEL}; border: none; border-right: 1px solid {BORDER}; padding-top: 10px; outline: 0;
}}
QListWidget#itemList::item {{ padding: 6px 8px; }}
QListWidget#itemList::item:selected {{ background: #2a2e39; }}
QPlainTextEdit#rawJson {{ padding: 6px; }}
QFrame#footer {{ background: {PANEL}; border-top: 1px solid {BORDER}; }}
QHeaderView::section {{ background: #2a2e39; color: {MUTED}; border: none; padding: 4px 6px; }}
QTableWidget {{ gridline-color: {BORDER}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 0; }}
QScrollBar::handle:vertical {{ background: #363a45; border-radius: 4px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; width: 0; }}
QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 0; }}
QScrollBar::handle:horizontal {{ background: #363a45; border-radius: 4px; min-width: 30px; }}
QToolTip {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER}; padding: 4px; }}
"""


class SectionNavDelegate(QStyledItemDelegate):
    """Paints a navigation row: title, accent bar when selected, red problem-count badge (UserRole)."""

    ROW_HEIGHT = 34

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected:
            painter.fillRect(rect, QColor("#2a2e39"))
            painter.fillRect(rect.x(), rect.y(), 3, rect.height(), QColor(ACCENT))
        elif hovered:
            painter.fillRect(rect, QColor("#252936"))
        count = int(index.data(Qt.ItemDataRole.UserRole) or 0)
        title = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.setFont(option.font)
        painter.setPen(QColor("#ffffff" if selected else TEXT))
        text_rect = rect.adjusted(18, 0, -(44 if count else 12), 0)
        title = QFontMetrics(option.font).elidedText(title, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), title)
        if count:
            small = QFont(option.font)
            small.setBold(True)
            if small.pixelSize() > 0:
                small.setPixelSize(max(small.pixelSize() - 2, 9))
            else:
                small.setPointSizeF(max(small.pointSizeF() - 1.5, 7.0))
            painter.setFont(small)
            label = str(count) if count < 100 else "99+"
            width = max(QFontMetrics(small).horizontalAdvance(label) + 12, 20)
            badge = QRectF(rect.right() - 12 - width, rect.center().y() - 9, width, 18)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(DOWN))
            painter.drawRoundedRect(badge, 9, 9)
            painter.setPen(QColor("#ffffff"))
            painter.drawText(badge, int(Qt.AlignmentFlag.AlignCenter), label)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        return QSize(option.rect.width(), self.ROW_HEIGHT)


def dark_palette() -> QPalette:
    """The dark trading-tool palette the dialog uses (independent of the application theme)."""
    pal = QPalette()
    roles = {
        QPalette.ColorRole.Window: BACKGROUND,
        QPalette.ColorRole.WindowText: TEXT,
        QPalette.ColorRole.Base: PANEL,
        QPalette.ColorRole.AlternateBase: "#232733",
        QPalette.ColorRole.Text: TEXT,
        QPalette.ColorRole.Button: "#2a2e39",
        QPalette.ColorRole.ButtonText: TEXT,
        QPalette.ColorRole.Highlight: ACCENT,
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: PANEL,
        QPalette.ColorRole.ToolTipText: TEXT,
        QPalette.ColorRole.PlaceholderText: "#5d606b",
        QPalette.ColorRole.Light: "#363a45",
        QPalette.ColorRole.Midlight: "#2f3340",
        QPalette.ColorRole.Mid: BORDER,
        QPalette.ColorRole.Dark: "#0f121a",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, colour in roles.items():
        pal.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#5d606b"))
    return pal


def split_problems(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One problem per field: config-level cross-field messages ('strategies[1].symbols …; …') get their path."""
    out: list[tuple[str, str]] = []
    for path, msg in problems:
        if path != CONFIG_PROBLEM_PATH:
            out.append((path, msg))
            continue
        for part in (p.strip() for p in msg.split("; ")):
            if not part:
                continue
            m = _CROSS_FIELD_PATH.match(part)
            if m and ("." in m.group(1) or "[" in m.group(1)):
                out.append((re.sub(r"\[(\d+)\]", r".\1", m.group(1)), part))
            else:
                out.append((CONFIG_PROBLEM_PATH, part))
    return out


@cache
def _timezone_names() -> tuple[str, ...]:
    names = sorted(
        n for n in zoneinfo.available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))
    )
    return tuple(names)


def exchange_names() -> list[str]:
    """Calendar names from pandas-market-calendars when the engine has loaded it, else as the calendar
    cache keeps them (the library is never imported here: slow)."""
    pmc = sys.modules.get("pandas_market_calendars")
    common = ["XNYS", "XNAS", "NYSE", "NASDAQ"]
    if pmc is None:
        from workstation.calendar import cached_calendar_names  # the calendar cache keeps the names

        return common + sorted(cached_calendar_names() or [])
    try:
        return common + sorted(pmc.get_calendar_names())
    except AttributeError:
        return common


def _slug(name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return (slug or "session")[:60]


def _strategy_classes(data: Any) -> list[tuple[Any, Any]]:
    """(name, class_path) of each strategy entry of a config dict (None, None for one that is not an object)."""
    strategies = data.get("strategies") if isinstance(data, dict) else None
    if not isinstance(strategies, list):
        return []
    return [(s.get("name"), s.get("class_path")) if isinstance(s, dict) else (None, None) for s in strategies]


class ConfigEditorDialog(QDialog):
    """Edit, validate, save and run a session config; the form is generated from the config JSON Schema."""

    saved = Signal(str)
    run_requested = Signal(str)

    def __init__(
        self,
        config_path: str | Path | None = None,
        configs_dir: Path = Path("session_configs"),
        parent: QWidget | None = None,
        store_path: str | Path | None = None,
        preflight_cache: PreflightCache | None = None,
        for_bars: dict | None = None,
    ) -> None:
        """`for_bars` (a new config only): {"symbols", "start", "end", "store_path", "exchange"} of bars
        just imported; the new config is the example's settings on them (`config_for_bars`)."""
        super().__init__(parent)
        self._store_override = store_path  # like --store: replaces the config's data_source.store_path
        self._preflight_cache = preflight_cache if preflight_cache is not None else PreflightCache()
        self.setObjectName("configEditor")
        self.setPalette(dark_palette())
        self.setModal(False)
        self._configs_dir = Path(configs_dir)
        self._path: Path | None = None
        self._disk_text: str | None = None       # the opened file's text as read or last saved here
        self._schema = config_json_schema()
        self._problems: list[tuple[str, str]] = []
        self._raw_error: str | None = None
        self._loading = False
        # (name, class_path) of each strategy as last validated, and the parameters offered per strategy
        # name: a strategy whose class is chosen gets its class's parameters (_offer_class_params)
        self._strategy_classes: list[tuple[Any, Any]] = []
        self._offered_params: dict[Any, dict] = {}
        self._updating_raw = False
        self._raw_from_form = True
        self._clean: dict | None = None
        # the JSON as opened or last saved (Save adds no default it lacked); None for a file that was not
        # JSON, until the Raw JSON page gives some
        self._file_data: dict | None = {}
        self._top: dict[str, FieldEditor] = {}
        self._section_of_key: dict[str, int] = {}
        self._section_titles: list[str] = []
        self._section_scrolls: dict[int, QScrollArea] = {}
        self._root_forms: list[ObjectEditor] = []
        self._config_form: ObjectEditor | None = None
        self._root_extras: dict[str, Any] = {}
        self._hints = FormHints(
            suggestions={
                "timezone": lambda: list(_timezone_names()),
                "exchange": exchange_names,
                "streams.interval": lambda: ["1m", "1s"],
                "strategies.*.class_path": lambda: list(BUILTIN_STRATEGIES),
                "strategies.*.interval": self._interval_choices,
            },
            browse_dirs=frozenset({"data_source.store_path"}),
            base_dir=lambda: str(Path.cwd()),
        )
        self._validate_timer = QTimer(self)
        self._validate_timer.setSingleShot(True)
        self._validate_timer.setInterval(DEBOUNCE_MS)
        self._validate_timer.timeout.connect(lambda: self._validate(update_raw=self._raw_from_form))
        self._raw_timer = QTimer(self)
        self._raw_timer.setSingleShot(True)
        self._raw_timer.setInterval(DEBOUNCE_MS)
        self._raw_timer.timeout.connect(self._apply_raw_json)
        self._build_ui()
        self.setStyleSheet(STYLE_SHEET)  # after building: one polish pass instead of one per re-parenting
        self.setMinimumSize(860, 600)
        fit_to_screen(self, 1000, 750)   # a 1366 x 768 laptop: the Save and Run buttons stay on the screen
        if config_path is not None:
            self.load(config_path)
        elif for_bars:
            self._load_data(config_for_bars(self._new_config_data(), **for_bars), clean=True)
        else:
            self._load_data(self._new_config_data(), clean=True)

    # construction ---------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        self._nav = QListWidget(self)
        self._nav.setObjectName("sectionNav")
        self._nav.setFixedWidth(208)
        self._nav.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._nav.setMouseTracking(True)
        self._nav.setItemDelegate(SectionNavDelegate(self._nav))
        self._pages = QStackedWidget(self)
        body.addWidget(self._nav)
        body.addWidget(self._pages, 1)
        outer.addLayout(body, 1)

        props = self._schema.get("properties", {})
        placed = {k for _, keys in SECTIONS for k in keys}
        sections = [(title, [k for k in keys if k in props]) for title, keys in SECTIONS]
        sections[0][1].extend(k for k in props if k not in placed)
        for title, keys in sections:
            if not keys:
                continue
            self._add_section(title, keys)
        self._raw_index = self._pages.count()
        self._pages.addWidget(self._build_raw_page())
        self._section_titles.append(RAW_SECTION)
        self._nav.addItem(QListWidgetItem(RAW_SECTION))
        self._nav.currentRowChanged.connect(self._pages.setCurrentIndex)
        self._nav.setCurrentRow(0)
        outer.addWidget(self._build_footer())
        self._hook_form_signals()

    def _section_header(self, title: str, description: str) -> QWidget:
        header = QWidget(self)
        col = QVBoxLayout(header)
        col.setContentsMargins(0, 0, 0, 4)
        col.setSpacing(2)
        t = QLabel(title, header)
        t.setObjectName("sectionTitle")
        col.addWidget(t)
        if description:
            d = QLabel(description, header)
            d.setObjectName("sectionDesc")
            d.setWordWrap(True)
            col.addWidget(d)
        return header

    def _add_section(self, title: str, keys: list[str]) -> None:
        index = self._pages.count()
        props = self._schema["properties"]
        first = resolve(props[keys[0]], self._schema)
        page = QWidget(self)
        page_col = QVBoxLayout(page)
        page_col.setContentsMargins(0, 0, 0, 0)
        content = QFrame(page)
        content.setObjectName("pageContent")
        col = QVBoxLayout(content)
        col.setContentsMargins(24, 18, 24, 18)
        col.setSpacing(12)
        single = len(keys) == 1 and first.get("type") in ("object", "array")
        if single:
            description = first.get("description") or resolve(first.get("items", {}), self._schema).get(
                "description", ""
            )
        elif index == 0:
            description = self._schema.get("description", "")
        else:
            description = ""
        col.addWidget(self._section_header(title, description))
        is_list = False
        if single:
            editor = make_editor(
                props[keys[0]], keys[0], self._schema, self._hints, flat=True, parent=content
            )
            self._top[keys[0]] = editor
            is_list = isinstance(editor, ObjectListEditor)
            col.addWidget(editor, 1 if is_list else 0)
        else:
            form = ObjectEditor(
                self._schema, "", self._schema, self._hints, flat=True, keys=keys, parent=content
            )
            self._root_forms.append(form)
            if self._config_form is None:
                self._config_form = form
            for key in keys:
                self._top[key] = form.child(key)
            col.addWidget(form)
        for key in keys:
            self._section_of_key[key] = index
        if is_list:
            page_col.addWidget(content, 1)
        else:
            col.addStretch(1)
            scroll = QScrollArea(page)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(content)
            self._section_scrolls[index] = scroll
            page_col.addWidget(scroll, 1)
        self._pages.addWidget(page)
        self._section_titles.append(title)
        self._nav.addItem(QListWidgetItem(title))

    def _build_raw_page(self) -> QWidget:
        page = QFrame(self)
        page.setObjectName("pageContent")
        col = QVBoxLayout(page)
        col.setContentsMargins(24, 18, 24, 18)
        col.setSpacing(10)
        col.addWidget(
            self._section_header(
                RAW_SECTION,
                "The config as JSON, kept in sync with the form. Edits here update the form as soon as the "
                "text is valid JSON; syntax errors are shown below and leave the form untouched.",
            )
        )
        self._raw_error_label = QLabel(page)
        self._raw_error_label.setObjectName("rawError")
        self._raw_error_label.setWordWrap(True)
        self._raw_error_label.hide()
        col.addWidget(self._raw_error_label)
        self._raw = QPlainTextEdit(page)
        self._raw.setObjectName("rawJson")
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(10)
        self._raw.setFont(font)
        self._raw.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._raw.setTabChangesFocus(False)
        self._raw.textChanged.connect(self._on_raw_edited)
        col.addWidget(self._raw, 1)
        return page

    def _build_footer(self) -> QWidget:
        footer = QFrame(self)
        footer.setObjectName("footer")
        row = QHBoxLayout(footer)
        row.setContentsMargins(16, 10, 16, 10)
        row.setSpacing(8)
        self._status = QPushButton(footer)
        self._status.setObjectName("statusButton")
        self._status.setCursor(Qt.CursorShape.PointingHandCursor)
        self._status.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._status.clicked.connect(self.show_first_problem)
        self._file_label = QLabel(footer)
        self._file_label.setObjectName("fileLabel")
        self._save_button = QPushButton("Save", footer)
        self._save_button.setObjectName("primaryButton")
        self._save_as_button = QPushButton("Save as…", footer)
        self._run_button = QPushButton("▶  Run", footer)
        self._close_button = QPushButton("Close", footer)
        self._save_button.setToolTip(
            "Save to the opened file (Ctrl+S); disabled while the config has problems"
        )
        self._run_button.setToolTip("Save, then start a run with this config; disabled while it has problems")
        self._save_button.setShortcut("Ctrl+S")
        self._save_button.clicked.connect(self.save)
        self._save_as_button.clicked.connect(self.save_as_interactive)
        self._run_button.clicked.connect(self.run)
        self._close_button.clicked.connect(self.close)
        for b in (self._save_button, self._save_as_button, self._run_button, self._close_button):
            b.setAutoDefault(False)
            b.setDefault(False)
        row.addWidget(self._status)
        # offered when the config names symbols or dates the bar store does not have
        self._fetch_button = QPushButton("Fetch from Alpaca…", footer)
        self._fetch_button.setObjectName("fetchButton")
        self._fetch_button.setAutoDefault(False)
        self._fetch_button.clicked.connect(self.open_fetch)
        self._fetch_button.hide()
        row.addWidget(self._fetch_button)
        row.addSpacing(12)
        row.addWidget(self._file_label, 1)
        row.addWidget(self._save_button)
        row.addWidget(self._save_as_button)
        row.addWidget(self._run_button)
        row.addSpacing(8)
        row.addWidget(self._close_button)
        return footer

    def _hook_form_signals(self) -> None:
        owned = {id(form.child(k)) for form in self._root_forms for k in form.child_keys()}
        for editor in [*self._root_forms, *(e for e in self._top.values() if id(e) not in owned)]:
            editor.changed.connect(self._on_form_changed)

    # data in/out ------------------------------------------------------------------------------------
    def _new_config_data(self) -> dict:
        example = self._configs_dir / "example_session.json"
        data: Any = None
        if example.is_file():
            try:
                data = json.loads(example.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("cannot use %s as the template of a new config: %s", example, exc)
        if not isinstance(data, dict):
            data = json.loads(json.dumps(_FALLBACK_NEW_CONFIG))
        data["name"] = "New session"
        return data

    def load(self, path: str | Path) -> None:
        """Open a config file; broken JSON opens on the Raw JSON page with the syntax error shown."""
        p = Path(path)
        text = read_config_text(p)  # bounded: a FIFO, a device or a huge file is refused, not read
        self._path = p
        self._disk_text = text
        self._raw_timer.stop()
        self._validate_timer.stop()
        self._set_raw_error(None)
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            data = None
        if isinstance(data, dict):
            self._load_data(data, clean=True)
            return
        self._load_data(self._new_config_data(), clean=True)
        self._file_data = None
        self._set_raw_text(text)
        self._apply_raw_json()
        self._nav.setCurrentRow(self._raw_index)

    def _set_form(self, data: dict) -> None:
        """Show `data` in the form (top-level keys without an editor are kept as they are)."""
        self._loading = True
        try:
            for key, editor in self._top.items():
                editor.set_value(data[key] if key in data else MISSING)
            self._root_extras = {k: v for k, v in data.items() if k not in self._top}
        finally:
            self._loading = False

    def _load_data(self, data: dict, clean: bool) -> None:
        self._set_form(data)
        self._strategy_classes = _strategy_classes(data)    # as opened: nothing is added to what the file says
        self._offered_params = {}
        self._raw_from_form = True
        self._validate(update_raw=True)
        if clean:
            self._clean = self.current_dict()
            self._file_data = data
        self._update_state()

    def current_dict(self) -> dict:
        """The config dict the form currently describes (what Save would validate and write)."""
        out: dict[str, Any] = {}
        for key in self._schema.get("properties", {}):
            editor = self._top.get(key)
            if editor is None:
                continue
            value = editor.value()
            if value is not MISSING:
                out[key] = value
        out.update(self._root_extras)
        return out

    def config_path(self) -> Path | None:
        """The file Save writes to (None for a new, never saved config)."""
        return self._path

    # validation -----------------------------------------------------------------------------------
    def _on_form_changed(self) -> None:
        if self._loading:
            return
        self._raw_from_form = True
        self._validate_timer.start()

    def _offer_class_params(self, data: dict) -> bool:
        """A strategy added, or whose class was changed, with no parameters (or only those offered for
        its previous class, untouched) gets its class's parameters with their defaults (None for one
        without), so the table shows what the class takes. `data`: the form's config now. True when a
        table was filled (the form's config changed)."""
        from workstation.sweep.spec import strategy_parameters

        strategies = data.get("strategies")
        now = _strategy_classes(data)
        filled = False
        for i, (name, class_path) in enumerate(now):
            before = self._strategy_classes[i] if i < len(self._strategy_classes) else None
            chosen = before is None or (before[0] == name and before[1] != class_path)
            if not chosen or not isinstance(class_path, str) or not class_path:
                continue
            params = strategies[i].get("params") or {}
            if params and params != self._offered_params.get(name):
                continue                        # the user's own values: kept
            offered = strategy_parameters({"class_path": class_path})
            editor = self._registry().get(f"strategies.{i}.params")
            if offered and offered != params and editor is not None:
                editor.set_value(offered)
                self._offered_params[name] = offered
                filled = True
        self._strategy_classes = now
        return filled

    def _show_class_params(self, data: dict) -> None:
        """Each strategy's params table names the parameters its class takes that the config does not
        give, with their defaults, and its Add offers them (KeyValueEditor.set_offered)."""
        from workstation.sweep.spec import class_parameters

        registry = self._registry()
        for i, (_name, class_path) in enumerate(_strategy_classes(data)):
            editor = registry.get(f"strategies.{i}.params")
            if isinstance(editor, KeyValueEditor):
                known = class_parameters({"class_path": class_path}) if isinstance(class_path, str) else None
                editor.set_offered([OfferedKey(name, default, required) for name, default, required in known or ()])

    def revalidate(self) -> None:
        """Apply pending edits now (raw JSON first, then the form) instead of after the debounce."""
        if self._raw_timer.isActive():
            self._raw_timer.stop()
            self._apply_raw_json()
        if self._validate_timer.isActive():
            self._validate_timer.stop()
            self._validate(update_raw=self._raw_from_form)

    def _validate(self, update_raw: bool) -> None:
        self._validate_timer.stop()
        data = self.current_dict()
        if self._offer_class_params(data):
            update_raw = True
            data = self.current_dict()
        self._show_class_params(data)
        problems: list[tuple[str, str]] = []
        try:
            cfg = validate_config_dict(data, str(self._path or "<new config>"))
        except ConfigError as exc:
            problems = list(exc.problems)
            self._set_fetch_offer(None)
        except WorkstationError as exc:
            problems = [(CONFIG_PROBLEM_PATH, str(exc))]
            self._set_fetch_offer(None)
        else:
            # the file is valid: would it run? (the store, the calendar, the strategies' code)
            try:
                problems = preflight_problems(cfg, self._store_override, self._preflight_cache)
            except WorkstationError as exc:
                problems = [(CONFIG_PROBLEM_PATH, str(exc))]
            self._set_fetch_offer(cfg)
        problems = split_problems(problems)
        for editor in self._all_editors():
            problems.extend(editor.local_problems())
        if update_raw:
            self._set_raw_text(pretty_json(data) + "\n")
            self._set_raw_error(None)
        if self._raw_error is not None:
            problems.append((JSON_PROBLEM_PATH, self._raw_error))
        self._problems = problems
        self._show_problems()
        self._update_state()

    # fetching missing data ------------------------------------------------------------------------
    def _set_fetch_offer(self, cfg: Any) -> None:
        """Show "Fetch from Alpaca…" when `cfg` names symbols or dates the store does not have."""
        from workstation.fetch.plan import missing_store_data

        missing = None
        if cfg is not None:
            try:
                missing = missing_store_data(cfg, self._store_override, self._preflight_cache)
            except WorkstationError:
                missing = None
        self._fetch_offer = (cfg, missing) if missing is not None else None
        self._fetch_button.setVisible(missing is not None)
        self._fetch_button.setToolTip(missing.describe() + ": download them into the store"
                                      if missing is not None else "")

    def fetch_offered(self) -> bool:
        """True while the config names symbols or dates the store lacks (the Fetch button is shown)."""
        return getattr(self, "_fetch_offer", None) is not None

    def open_fetch(self) -> Any:
        """Open the fetch dialog for what the store lacks; the config is checked again after it fetched."""
        from ui.dialogs.fetch_dialog import FetchDialog
        from workstation.fetch.plan import fetch_request_for

        offer = getattr(self, "_fetch_offer", None)
        if offer is None:
            return None
        cfg, missing = offer
        dialog = FetchDialog(fetch_request_for(cfg, missing), missing.store_root, self, reason=missing.describe())
        dialog.fetched.connect(lambda _summary: self._validate(update_raw=False))
        self._fetch_dialog = dialog
        dialog.show()
        return dialog

    def _all_editors(self) -> list[FieldEditor]:
        seen: set[int] = set()
        out: list[FieldEditor] = []
        for top in self._top.values():
            for editor in top.iter_editors():
                if id(editor) not in seen:
                    seen.add(id(editor))
                    out.append(editor)
        return out

    def _registry(self) -> dict[str, FieldEditor]:
        return {e.path: e for e in self._all_editors() if e.path}

    @staticmethod
    def _target_path(path: str, registry: dict[str, FieldEditor]) -> str | None:
        p = path
        while p:
            if p in registry:
                return p
            p = p.rsplit(".", 1)[0] if "." in p else ""
        return None

    def _show_problems(self) -> None:
        registry = self._registry()
        messages: dict[int, list[str]] = {}

        def add(editor: FieldEditor, msg: str) -> None:
            bucket = messages.setdefault(id(editor), [])
            if msg not in bucket:
                bucket.append(msg)

        list_rows: dict[str, set[int]] = {}
        for path, msg in self._problems:
            if path == JSON_PROBLEM_PATH:
                continue
            target = self._target_path(path, registry)
            if target is None:
                if self._config_form is not None:
                    add(self._config_form, msg)
                continue
            editor = registry[target]
            add(editor, msg)
            word = msg.split(" ", 1)[0]
            if isinstance(editor, ObjectEditor) and word in editor.child_keys():
                add(editor.child(word), msg)
            parts = path.split(".")
            for i in range(1, len(parts)):
                if parts[i].isdigit():
                    list_rows.setdefault(".".join(parts[:i]), set()).add(int(parts[i]))
        for editor in [*self._all_editors(), *self._root_forms]:
            editor.set_errors(messages.get(id(editor), []))
            if isinstance(editor, ObjectListEditor):
                editor.mark_invalid_rows(list_rows.get(editor.path, set()))

    def _section_index_of(self, path: str) -> int:
        if path == JSON_PROBLEM_PATH:
            return self._raw_index
        return self._section_of_key.get(path.split(".", 1)[0], 0)

    def section_problem_counts(self) -> dict[str, int]:
        """Problems per section title (what the navigation shows)."""
        counts = dict.fromkeys(self._section_titles, 0)
        for path, _ in self._problems:
            counts[self._section_titles[self._section_index_of(path)]] += 1
        return counts

    def _update_state(self) -> None:
        counts = self.section_problem_counts()
        for row, title in enumerate(self._section_titles):
            item = self._nav.item(row)
            n = counts.get(title, 0)
            item.setData(Qt.ItemDataRole.UserRole, n)
            item.setToolTip(f"{n} problem{'s' if n != 1 else ''}" if n else "")
        valid = self.is_valid()
        n = len(self._problems)
        if valid:
            self._status.setText("✓  Valid")
            self._status.setProperty("state", "ok")
            self._status.setToolTip(
                "The config passes every check, including the bar store, the calendar and the strategies' code"
            )
        else:
            self._status.setText(f"●  {n} problem{'s' if n != 1 else ''}  — show")
            self._status.setProperty("state", "bad")
            self._status.setToolTip("\n".join(f"{p}: {m}" for p, m in self._problems[:20]))
        self._status.style().unpolish(self._status)
        self._status.style().polish(self._status)
        self._save_button.setEnabled(valid)
        self._run_button.setEnabled(valid)
        modified = self.is_modified()
        where = str(self._path) if self._path else "new config (not saved yet)"
        self._file_label.setText(where + ("  •  unsaved changes" if modified else ""))
        name = self._path.name if self._path else "new config"
        self.setWindowTitle(f"Session config — {name}{' *' if modified else ''}")

    # raw JSON -------------------------------------------------------------------------------------
    def _set_raw_text(self, text: str) -> None:
        if self._raw.toPlainText() == text:
            return
        self._updating_raw = True
        try:
            bar = self._raw.verticalScrollBar().value()
            cursor_pos = self._raw.textCursor().position()
            with QSignalBlocker(self._raw):
                self._raw.setPlainText(text)
            cursor = self._raw.textCursor()
            cursor.setPosition(min(cursor_pos, len(text)))
            self._raw.setTextCursor(cursor)
            self._raw.verticalScrollBar().setValue(bar)
        finally:
            self._updating_raw = False

    def _on_raw_edited(self) -> None:
        if self._updating_raw:
            return
        self._raw_timer.start()

    def raw_json_editor(self) -> QPlainTextEdit:
        """The Raw JSON text editor (edits are applied to the form after the debounce)."""
        return self._raw

    def set_raw_json(self, text: str) -> None:
        """Replace the raw JSON text as if typed, and apply it now."""
        self._raw.setPlainText(text)
        self.revalidate()

    def raw_json_error(self) -> str | None:
        """The raw JSON syntax error shown (None when the text parses)."""
        return self._raw_error

    def _set_raw_error(self, message: str | None, line: int | None = None) -> None:
        self._raw_error = message
        self._raw_error_label.setText(message or "")
        self._raw_error_label.setVisible(bool(message))
        selections = []
        if message and line is not None:
            block = self._raw.document().findBlockByLineNumber(max(line - 1, 0))
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(QColor("#3b1f26"))
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cursor = QTextCursor(block)
            sel.cursor = cursor
            selections.append(sel)
        self._raw.setExtraSelections(selections)

    def _apply_raw_json(self) -> None:
        self._raw_timer.stop()
        text = self._raw.toPlainText()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._set_raw_error(f"Line {exc.lineno}, column {exc.colno}: {exc.msg}", exc.lineno)
            self._validate(update_raw=False)
            return
        except RecursionError:
            self._set_raw_error("The JSON is nested too deeply to be a session config", 1)
            self._validate(update_raw=False)
            return
        if not isinstance(data, dict):
            self._set_raw_error(f"The top level must be a JSON object {{…}}, got {type(data).__name__}", 1)
            self._validate(update_raw=False)
            return
        self._set_raw_error(None)
        if self._file_data is None:     # the opened file was not JSON: this is what it holds now
            self._file_data = data
        self._set_form(data)
        self._raw_from_form = False
        self._validate(update_raw=False)

    # public API -----------------------------------------------------------------------------------
    def problems(self) -> list[tuple[str, str]]:
        """Current problems as (field path, message), including a raw JSON syntax error ('(json)')."""
        return list(self._problems)

    def is_valid(self) -> bool:
        return not self._problems

    def is_modified(self) -> bool:
        """True when the form differs from the last loaded/saved config (or the raw text does not parse)."""
        return self._raw_error is not None or self.current_dict() != self._clean

    def field_editor(self, path: str) -> FieldEditor:
        registry = self._registry()
        if path not in registry:
            known = ", ".join(sorted(registry)[:12])
            raise KeyError(f"no field {path!r} in the form (fields look like: {known}, …)")
        return registry[path]

    def field_widget(self, path: str) -> QWidget:
        """The input widget of a field path ('backtest.end_date', 'strategies.1.symbols')."""
        return self.field_editor(path).input_widget()

    def error_label(self, path: str) -> QLabel | None:
        """The message label shown next to a field (or at the top of a section) when it has problems, else None."""
        if path == CONFIG_PROBLEM_PATH:
            label = self._config_form.error_label if self._config_form else None
        else:
            registry = self._registry()
            label = registry[path].error_label if path in registry else None
        if label is None or label.isHidden() or not label.text():
            return None
        return label

    def set_field(self, path: str, value: Any) -> None:
        """Set a field's JSON value programmatically and validate at once."""
        self.field_editor(path).set_value(value)
        self._raw_from_form = True
        self._validate(update_raw=True)

    def section_titles(self) -> list[str]:
        return list(self._section_titles)

    def show_section(self, title: str) -> None:
        self._nav.setCurrentRow(self._section_titles.index(title))

    def current_section(self) -> str:
        return self._section_titles[self._nav.currentRow()]

    def show_field(self, path: str) -> None:
        """Bring a field into view: its section, the list items containing it, then focus its widget."""
        index = self._section_index_of(path)
        self._nav.setCurrentRow(index)
        if index == self._raw_index:
            self._raw.setFocus()
            return
        registry = self._registry()
        parts = path.split(".")
        for i in range(1, len(parts)):
            parent = registry.get(".".join(parts[:i]))
            if isinstance(parent, ObjectListEditor) and parts[i].isdigit():
                parent.select(int(parts[i]))
        target = self._target_path(path, registry)
        if target is None:
            return
        widget = registry[target]
        scroll = self._section_scrolls.get(index)
        if scroll is not None:
            scroll.ensureWidgetVisible(widget, 50, 80)
        registry[target].input_widget().setFocus()

    def show_first_problem(self) -> None:
        if self._problems:
            self.show_field(self._problems[0][0])

    def _interval_choices(self) -> list[str]:
        streams = self._top.get("streams")
        value = streams.value() if streams is not None else {}
        out: list[str] = []
        if isinstance(value, dict):
            if isinstance(value.get("interval"), str):
                out.append(value["interval"])
            if isinstance(value.get("derived"), list):
                out.extend(v for v in value["derived"] if isinstance(v, str))
        return out or ["1m"]

    # saving and running ---------------------------------------------------------------------------
    def save_as(self, path: str | Path) -> Path:
        """Validate and write the config to `path` (atomic); it becomes the opened file. Raises ConfigError."""
        self.revalidate()
        if self._raw_error is not None:
            raise ConfigError(str(path), [(JSON_PROBLEM_PATH, self._raw_error)])
        edited = self.current_dict()
        cfg = validate_config_dict(edited, str(path))
        # the entries the file had or the user changed: the defaults the form filled in stay out
        file_data = self._file_data if self._file_data is not None else edited
        data = save_config_edits(cfg, edited, file_data, self._clean or {}, path)
        self._path = Path(path)
        self._disk_text = self._read_disk()
        self._load_data(data, clean=True)
        log.info("saved session config %s", path)
        self.saved.emit(str(path))
        return self._path

    def save(self) -> bool:
        """Save to the opened file (asks for a file name for a new config); False when invalid or cancelled."""
        self.revalidate()
        if not self.is_valid():
            self.show_first_problem()
            return False
        if self._path is None:
            return self.save_as_interactive()
        if self.changed_on_disk() and not self._confirm_overwrite():
            return False
        return self._save_reporting(self._path)

    def _read_disk(self) -> str | None:
        """The opened file's text now (None when it cannot be read: gone, or not a file any more)."""
        try:
            return read_config_text(self._path) if self._path is not None else None
        except (ConfigError, OSError):
            return None

    def changed_on_disk(self) -> bool:
        """Whether the opened file was changed by someone else since it was opened or saved here (another
        editor, another window): Save would overwrite those changes."""
        if self._path is None or self._disk_text is None:
            return False
        now = self._read_disk()
        return now is not None and now != self._disk_text

    def _confirm_overwrite(self) -> bool:
        """The file changed on disk since it was opened here: overwrite it (True), reload it (its changes
        replace the form's) or cancel (False both)."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Changed on disk")
        box.setText(f"{self._path.name if self._path else 'The config'} was changed on disk since it was "
                    "opened here (by another program or window).")
        box.setInformativeText("Overwrite it with this version (the changes made elsewhere are lost), reload it "
                               "from disk (the changes made here are lost), or cancel?")
        box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Reset
                               | QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Save).setText("Overwrite")
        box.button(QMessageBox.StandardButton.Reset).setText("Reload from disk")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return True
        if answer == QMessageBox.StandardButton.Reset and self._path is not None:
            self.load(self._path)
        return False

    def save_as_interactive(self) -> bool:
        """Ask for a file name (in the configs folder) and save there."""
        self.revalidate()
        if not self.is_valid():
            self.show_first_problem()
            return False
        name = self.current_dict().get("name")
        start = self._path or self._configs_dir / f"{_slug(name if isinstance(name, str) else '')}.json"
        chosen = save_file_name(self, "Save session config as", str(start), "Session configs (*.json);;All files (*)")
        if not chosen:
            return False
        if not chosen.lower().endswith(".json"):
            chosen += ".json"
        return self._save_reporting(Path(chosen))

    def _save_reporting(self, path: Path) -> bool:
        try:
            self.save_as(path)
        except ConfigError as exc:
            QMessageBox.warning(self, "Config not saved", str(exc))
            return False
        except OSError as exc:
            QMessageBox.warning(self, "Config not saved", f"Cannot write {path}: {exc.strerror or exc}")
            return False
        return True

    def run(self) -> bool:
        """Save (if needed) and emit run_requested(path), then close; refuses (False) while invalid."""
        self.revalidate()
        if not self.is_valid():
            self.show_first_problem()
            return False
        if (self._path is None or self.is_modified()) and not self.save():
            return False
        self.run_requested.emit(str(self._path))
        self.accept()
        return True

    # closing --------------------------------------------------------------------------------------
    def discard_changes(self) -> None:
        """Revert the form to the last loaded/saved config (Close then no longer asks)."""
        self._raw_timer.stop()
        self._validate_timer.stop()
        self._set_raw_error(None)
        if self._clean is not None:
            self._load_data(self._clean, clean=False)

    def _confirm_close(self) -> bool:
        self.revalidate()
        if not self.is_modified():
            return True
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText("The config has unsaved changes.")
        buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
        if self.is_valid():
            box.setInformativeText("Save them before closing?")
            buttons |= QMessageBox.StandardButton.Save
        else:
            # Save could not save it (the editor stayed open without saying why): say so, offer the rest
            n, where = len(self._problems), self._problems[0][0]
            box.setInformativeText(f"It has {n} problem{'s' if n != 1 else ''} ({'first: ' if n > 1 else ''}{where}), "
                                   "so it cannot be saved as it is. Discard the changes, or Cancel to fix them?")
        box.setStandardButtons(buttons)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            self.discard_changes()
            return True
        return False

    def reject(self) -> None:
        """Close/Escape: ask about unsaved changes first."""
        if self._confirm_close():
            super().reject()


__all__ = ["SECTIONS", "ConfigEditorDialog", "dark_palette", "pretty_json", "split_problems"]
