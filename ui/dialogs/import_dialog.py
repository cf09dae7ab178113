"""The "Import bars…" dialog: vendor export files into the bar store without leaving the window.

*File → Import bars…* (Ctrl+I) opens it on the window's store (followed when the window loads a config
on another store, unless another was chosen in the dialog). The user adds files (the button, or
dropped on the dialog), sets what `workstation import` takes (a new store's exchange, symbol, kind,
interval, time zone, bar times; each field names its command-line option, as the importer's messages
do) and presses Import:
`workstation.store.import_files` runs on a worker thread (every file is read and checked before
anything is written; a file-level problem stores nothing) and its summary, warnings included, shows
below. When the importer doubts the times of a file (a time zone that does not fit the sessions, bars
stamped with their end read as starts) the summary lists the bars that file stored (`removals`), and
*Remove these bars…* removes them (`BarStore.remove_bars`, after a confirmation that says what goes),
so the file can be imported again with the right settings. After an import of 1m bars that raised
no doubt, *New config for these bars…* asks the window for a new config of them
(`new_config_requested`: their symbols, sessions, store and exchange).

Threads: the UI thread owns every widget; the worker thread only opens the store, imports or removes,
and emits its result through a queued signal. `imported` (the summary's dict and its "store_root") is
emitted after an import that stored bars, `removed` after a removal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ui.dialogs.config_editor import exchange_names
from ui.dialogs.job_parts import job_column, job_form, job_progress, job_status, job_summary
from ui.file_dialogs import existing_directory, open_file_names
from ui.screen_fit import fit_to_screen
from ui.theme import AMBER, DOWN, MUTED, UP, build_palette, style_sheet
from workstation.errors import WorkstationError, counted
from workstation.store import BarStore
from workstation.store.import_zones import METATRADER_SERVER_TIME

FILE_FILTER = "Bar files (*.csv *.txt *.tsv *.gz *.parquet *.pq);;All files (*)"
INTERVALS = ("1m", "2m", "5m", "15m", "30m", "1h", "1d")
ZONES = ("America/New_York", "America/Chicago", "UTC", METATRADER_SERVER_TIME, "Europe/London", "Europe/Berlin",
         "Asia/Tokyo")
OWN_OFFSETS = "the files' own UTC offsets"
KINDS = (("Trade bars (OHLCV)", "bars"), ("Quote bars (bid/ask)", "quotes"))
BAR_TIMES = (("the start of each bar (most exports)", "start"),
             ("the end of each bar (NinjaTrader, TradeStation)", "end"))
LOCK_WAIT_S = 30.0

_EXTRA_STYLE = f"""
QLabel#importTitle {{ font-size: 16px; font-weight: 600; }}
QLabel#importHelp, QLabel#importStatus {{ color: {MUTED}; }}
QLabel#importStatus[tone="ok"] {{ color: {UP}; }}
QLabel#importStatus[tone="warn"] {{ color: {AMBER}; }}
QLabel#importStatus[tone="error"] {{ color: {DOWN}; }}
QLabel#importWarnings {{ color: {AMBER}; border: 1px solid {AMBER}; border-radius: 3px; padding: 6px 8px; }}
"""


def _field_label(text: str, option: str, parent: QWidget) -> QLabel:
    """A form label naming the `workstation import` option too, as the importer's messages do."""
    label = QLabel(f"{text} <span style='color:{MUTED}'>{option}</span>", parent)
    label.setTextFormat(Qt.TextFormat.RichText)
    return label


class ImportDialog(QDialog):
    """Import bar files into the store at `store_root`; `imported(summary_dict)` after bars were
    stored, `removed(result_dict)` after doubted bars were removed."""

    imported = Signal(dict)
    removed = Signal(dict)
    new_config_requested = Signal(dict)     # {"symbols", "start", "end", "store_path", "exchange"}: bars imported
    _done_signal = Signal(str, object, object)     # (what: "import" | "remove", result, error text | None)
    _wait_signal = Signal(str)

    def __init__(self, store_root: str | os.PathLike, parent: QWidget | None = None,
                 files: Sequence[str | os.PathLike] = (), importer: Callable | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importDialog")
        self.setWindowTitle("Import bars")
        self.setPalette(build_palette())
        self.setStyleSheet(style_sheet() + _EXTRA_STYLE)
        self.setAcceptDrops(True)
        self._importer = importer
        self._worker: threading.Thread | None = None
        self.summary = None          # the last ImportSummary
        self.error: str | None = None
        self._done_signal.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._wait_signal.connect(self._set_status, Qt.ConnectionType.QueuedConnection)
        self._exchange_fixed = False
        self._given_store = str(store_root)      # the window's store, followed while the field shows it
        self._build(str(store_root))
        self._sync_exchange()
        self.add_files(files)
        fit_to_screen(self, 820, 760)

    # ------------------------------------------------------------------------------------ layout
    def _build(self, store_root: str) -> None:
        col = job_column(self, "Import bar files", "importTitle")
        helper = QLabel("CSV, TXT, CSV.gz or Parquet: MetaTrader 4/5, NinjaTrader, TradingView and Dukascopy exports "
                        "as they are, or any file with time, open, high, low, close and volume columns. Every row is "
                        "checked; refused rows go to the store's quarantine folder with the reason. Drop files "
                        "here or add them below.", self)
        helper.setObjectName("importHelp")
        helper.setWordWrap(True)
        col.addWidget(helper)

        files_row = QHBoxLayout()
        self.file_list = QListWidget(self)
        self.file_list.setObjectName("importFiles")
        self.file_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.file_list.setMinimumHeight(72)
        self.file_list.setMaximumHeight(120)
        self.file_list.setToolTip("The files to import (all are checked before any is stored)")
        files_row.addWidget(self.file_list, 1)
        file_buttons = QVBoxLayout()
        self.add_button = QPushButton("Add files…", self)
        self.remove_file_button = QPushButton("Remove", self)
        for b in (self.add_button, self.remove_file_button):
            b.setAutoDefault(False)
            file_buttons.addWidget(b)
        file_buttons.addStretch(1)
        files_row.addLayout(file_buttons)
        col.addLayout(files_row)
        self.add_button.clicked.connect(self.choose_files)
        self.remove_file_button.clicked.connect(self._remove_selected_files)
        self.file_list.itemSelectionChanged.connect(self._update_buttons)

        form = job_form()
        store_row = QHBoxLayout()
        self.store_edit = QLineEdit(store_root, self)
        self.store_edit.setToolTip("The bar store folder (created when missing)")
        store_row.addWidget(self.store_edit, 1)
        self.store_button = QPushButton("Choose…", self)
        self.store_button.setAutoDefault(False)
        self.store_button.clicked.connect(self._choose_store)
        store_row.addWidget(self.store_button)
        form.addRow(_field_label("Store", "--store", self), store_row)
        self.exchange_combo = QComboBox(self)
        self.exchange_combo.setEditable(True)
        self.exchange_combo.addItems(list(dict.fromkeys(exchange_names())))
        self.exchange_combo.setMaximumWidth(220)
        exchange_row = QHBoxLayout()
        exchange_row.addWidget(self.exchange_combo)
        self.exchange_note = QLabel(self)
        self.exchange_note.setObjectName("importHelp")
        exchange_row.addWidget(self.exchange_note, 1)
        form.addRow(_field_label("Exchange", "--exchange", self), exchange_row)
        self.store_edit.textChanged.connect(self._sync_exchange)
        self.symbol_edit = QLineEdit(self)
        self.symbol_edit.setPlaceholderText("from each file: its symbol column, else its name (AAPL_M1.csv → AAPL)")
        self.symbol_edit.setToolTip("The symbol of every row; leave empty to take it from each file")
        form.addRow(_field_label("Symbol", "--symbol", self), self.symbol_edit)
        self.kind_combo = QComboBox(self)
        for text, kind in KINDS:
            self.kind_combo.addItem(text, kind)
        self.kind_combo.setToolTip("Trade bars, or quote bars: bid and ask columns, or a MetaTrader export's bid "
                                   "bars with its <SPREAD> (ask = bid + spread x the prices' smallest unit). Import "
                                   "a MetaTrader file both ways to fill buys at the ask (fill_prices: quotes)")
        form.addRow(_field_label("The files hold", "--kind", self), self.kind_combo)
        self.interval_combo = QComboBox(self)
        self.interval_combo.setEditable(True)
        self.interval_combo.addItems(list(INTERVALS))
        self.interval_combo.setToolTip("The files' bar interval (1d for daily bars)")
        self.interval_combo.setMaximumWidth(120)
        form.addRow(_field_label("Interval", "--interval", self), self.interval_combo)
        self.tz_combo = QComboBox(self)
        self.tz_combo.setEditable(True)
        self.tz_combo.addItems([OWN_OFFSETS, *ZONES])      # OWN_OFFSETS (or nothing typed): no --tz
        self.tz_combo.setCurrentIndex(0)
        line = self.tz_combo.lineEdit()
        assert line is not None
        line.setPlaceholderText(OWN_OFFSETS)
        self.tz_combo.setToolTip("The zone the files' times were recorded in, when they carry no UTC offset: an "
                                 "IANA name such as America/New_York, or one shifted by hours; MetaTrader exports "
                                 f"are in the broker's server time, usually {METATRADER_SERVER_TIME} (New York time "
                                 "+ 7 hours). Never overrides an offset in the file")
        form.addRow(_field_label("Time zone", "--tz", self), self.tz_combo)
        self.bar_time_combo = QComboBox(self)
        for text, value in BAR_TIMES:
            self.bar_time_combo.addItem(text, value)
        self.bar_time_combo.setToolTip("NinjaTrader and TradeStation stamp a bar with its end: their bars are "
                                       "moved back one interval to the bar starts the store keeps")
        form.addRow(_field_label("Times are", "--bar-time", self), self.bar_time_combo)
        col.addLayout(form)

        self.progress_bar = job_progress(self)
        col.addWidget(self.progress_bar)
        self.status_label = job_status(self, "Add the files to import.", "importStatus")
        col.addWidget(self.status_label)
        self.warnings_label = job_status(self, "", "importWarnings")    # the import's warnings, above the summary
        self.warnings_label.setVisible(False)
        col.addWidget(self.warnings_label)
        self.result_text = job_summary(self, "importResult", "The summary of the import appears here: rows stored and "
                                       "refused per file and symbol, and any warning about the files' times.", 120)
        col.addWidget(self.result_text, 1)

        buttons = QHBoxLayout()
        self.remove_bars_button = QPushButton("Remove these bars…", self)
        self.remove_bars_button.setToolTip("Remove the bars of the files whose times the importer doubts, so they "
                                           "can be imported again with other settings")
        self.remove_bars_button.setVisible(False)
        buttons.addWidget(self.remove_bars_button)
        self.new_config_button = QPushButton("New config for these bars…", self)
        self.new_config_button.setToolTip("Open the config editor on a new config of the imported symbols and "
                                          "dates (the example's settings); Save asks for its file name")
        self.new_config_button.setVisible(False)
        buttons.addWidget(self.new_config_button)
        buttons.addStretch(1)
        self.import_button = QPushButton("Import", self)
        self.import_button.setObjectName("primaryButton")
        self.close_button = QPushButton("Close", self)
        for b in (self.remove_bars_button, self.new_config_button, self.import_button, self.close_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        self.remove_bars_button.clicked.connect(self.remove_doubted_bars)
        self.new_config_button.clicked.connect(self.request_new_config)
        self.import_button.clicked.connect(self.start)
        self.close_button.clicked.connect(self.close)
        col.addLayout(buttons)
        self._update_buttons()

    # ------------------------------------------------------------------------------------ files
    def files(self) -> list[str]:
        return [self.file_list.item(i).text() for i in range(self.file_list.count())]

    def add_files(self, paths: Sequence[str | os.PathLike]) -> None:
        """Add files to the list (each once)."""
        known = set(self.files())
        for p in paths:
            text = str(p)
            if text and text not in known:
                self.file_list.addItem(text)
                known.add(text)
        self._say_files()
        self._update_buttons()

    def _say_files(self) -> None:
        if self.files() and self._worker is None:
            self._set_status(f"{counted(len(self.files()), 'file')} to import into {self.store_edit.text()}.")

    def choose_files(self) -> None:
        paths = open_file_names(self, "Files to import", self._last_folder(), FILE_FILTER)
        self.add_files(paths)

    def _last_folder(self) -> str:
        files = self.files()
        return str(Path(files[-1]).parent) if files else str(Path.cwd())

    def _remove_selected_files(self) -> None:
        for item in self.file_list.selectedItems():
            self.file_list.takeItem(self.file_list.row(item))
        self._update_buttons()

    def _sync_exchange(self) -> None:
        """An existing store's exchange is fixed (shown, not editable); a new store's is chosen here."""
        existing = BarStore.exchange_of(self.store_edit.text().strip()) if self.store_edit.text().strip() else None
        if existing is not None:
            self.exchange_combo.setCurrentText(existing)
            self.exchange_combo.setToolTip("The exchange calendar of this store (a store keeps one exchange)")
            self.exchange_note.setText("this store's calendar")
        else:
            self.exchange_note.setText("the calendar of the new store")
            if not self.exchange_combo.isEnabled() or not self.exchange_combo.currentText().strip():
                self.exchange_combo.setCurrentText("XNYS")
            self.exchange_combo.setToolTip("The exchange calendar of the new store (a pandas-market-calendars name "
                                           "such as XNYS, XLON, XETR, XTSE): its sessions decide which bars are "
                                           "regular hours, which dates are trading days")
        self._exchange_fixed = existing is not None
        self.exchange_combo.setEnabled(self._worker is None and not self._exchange_fixed)

    def follow_store(self, store_root: str | os.PathLike) -> None:
        """The window now reads `store_root` (another config was loaded): the field shows it, unless the
        user chose another store here or an import or removal is running (it keeps its store)."""
        new = str(store_root)
        if self._worker is None and self.store_edit.text().strip() == self._given_store:
            self.store_edit.setText(new)
            self._say_files()
        self._given_store = new

    def _choose_store(self) -> None:
        folder = existing_directory(self, "Bar store folder", self.store_edit.text() or str(Path.cwd()))
        if folder:
            self.store_edit.setText(folder)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls() and self._worker is None:
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self.add_files([u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()])
        event.acceptProposedAction()

    # ------------------------------------------------------------------------------------ import
    def options(self) -> dict:
        """The import_files keyword arguments the form describes."""
        tz = self.tz_combo.currentText().strip()
        return {"symbol": self.symbol_edit.text().strip() or None, "tz": None if tz in ("", OWN_OFFSETS) else tz,
                "interval": self.interval_combo.currentText().strip() or "1m",
                "kind": self.kind_combo.currentData(), "bar_time": self.bar_time_combo.currentData()}

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        """Import the listed files on a worker thread (the window stays responsive)."""
        files = self.files()
        store_root = self.store_edit.text().strip()
        if self._worker is not None or not files:
            return
        if not store_root:
            self._show_error("Give the bar store folder (Store).")
            return
        self.summary, self.error = None, None
        self.result_text.clear()
        self.remove_bars_button.setVisible(False)
        self.new_config_button.setVisible(False)
        self.warnings_label.setVisible(False)
        self._busy(f"Reading and checking {counted(len(files), 'file')}…")
        self._start_worker("import", self._run_import, files, store_root, self.exchange_combo.currentText().strip(),
                           self.options())

    def _run_import(self, files: list[str], store_root: str, exchange: str, options: dict):
        from workstation.store import import_files

        store = BarStore.for_import(store_root, exchange or None, lock_timeout=LOCK_WAIT_S,
                                    on_lock_wait=self._wait_signal.emit)
        return (self._importer or import_files)(files, store, **options)

    def bars_imported(self) -> dict | None:
        """The symbols and exchange-local dates the last import's bars cover (stored now or before),
        as `new_config_requested` gives them; None when it holds no bars or was undone."""
        summary = self.summary
        if summary is None or summary.kind != "bars" or summary.interval != "1m":     # what configs stream
            return None
        spans = {s: (e["first_session"], e["last_session"]) for s, e in summary.per_symbol.items()
                 if e.get("first_session")}
        if not spans:
            return None
        return {"symbols": sorted(spans), "start": min(a for a, _ in spans.values()),
                "end": max(b for _, b in spans.values()), "store_path": str(summary.store_root),
                "exchange": summary.exchange}

    def request_new_config(self) -> None:
        """New config for these bars…: ask the window for a config of the imported symbols and dates."""
        bars = self.bars_imported()
        if bars is not None:
            self.new_config_requested.emit(bars)

    def remove_doubted_bars(self) -> None:
        """After a confirmation: remove the bars of the files the last import's warnings doubt."""
        summary = self.summary
        if summary is None or not summary.removals or self._worker is not None:
            return
        store_root = str(summary.store_root)
        what = "\n".join(f"• {', '.join(r['symbols'])}: every {r['interval']} "
                         f"{'quote bar' if r['kind'] == 'quotes' else 'bar'} from {r['start']} to {r['end']} "
                         f"(from {Path(r['file']).name})" for r in summary.removals)
        box = QMessageBox(QMessageBox.Icon.Warning, "Remove these bars?",
                          f"Remove from the store {store_root}:\n\n{what}\n\nThis removes the bars these files "
                          "stored, and any other bars of those symbols stored on those dates before. The other "
                          "symbols and dates stay as they are.", QMessageBox.StandardButton.NoButton, self)
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(box.addButton(QMessageBox.StandardButton.Cancel))     # Enter keeps the bars
        box.exec()
        if box.clickedButton() is not remove:
            return
        self._busy("Removing the bars…")
        self._start_worker("remove", self._run_remove, store_root, [dict(r) for r in summary.removals])

    def _run_remove(self, store_root: str, removals: list[dict]) -> list:
        store = BarStore(store_root, lock_timeout=LOCK_WAIT_S, on_lock_wait=self._wait_signal.emit)
        return [store.remove_bars(r["symbols"], r["interval"], r["start"], r["end"], kind=r["kind"]) for r in removals]

    def _start_worker(self, what: str, target: Callable, *args) -> None:
        def run() -> None:
            try:
                result = target(*args)
            except WorkstationError as exc:
                from workstation.store.lock import LONGER_WAIT_HINT  # the command line's option

                self._done_signal.emit(what, None, str(exc).replace(LONGER_WAIT_HINT, ""))
            except OSError as exc:
                from workstation.atomic_files import os_error_text

                where = f"{exc.filename}: " if exc.filename else ""
                self._done_signal.emit(what, None, f"{where}{os_error_text(exc)}; nothing more was written")
            except Exception as exc:  # noqa: BLE001 - a bug must reach the user, not end the thread silently
                self._done_signal.emit(what, None, f"{type(exc).__name__}: {exc}")
            else:
                self._done_signal.emit(what, result, None)

        self._worker = threading.Thread(target=run, name=f"bar-{what}", daemon=True)
        self._worker.start()

    def wait(self, timeout: float = 60.0) -> bool:
        """Join the worker (tests); the done signal still has to be processed by the event loop."""
        worker = self._worker
        if worker is None:
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def _busy(self, text: str) -> None:
        self.progress_bar.setRange(0, 0)
        self._set_status(text)
        self._update_buttons(running=True)

    def _on_done(self, what: str, result, error: str | None) -> None:
        self._worker = None
        self._sync_exchange()              # a store the import created keeps that exchange from now on
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0 if error else 1)
        self._update_buttons()
        if error is not None:
            self._show_error(error if what == "import" else f"The bars were not removed: {error}")
            return
        if what == "remove":
            self._on_removed(result)
            return
        self.summary = summary = result
        self.result_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)    # the per-symbol table
        self.result_text.setPlainText(summary.render())
        stored = summary.rows_stored
        symbols = sorted(summary.per_symbol)
        text = (f"Stored {stored:,} {'quote bars' if summary.kind == 'quotes' else 'bars'} of "
                f"{', '.join(symbols) or 'no symbol'} ({summary.rows_quarantined:,} rows refused, "
                f"{summary.duplicates_skipped:,} already stored).")
        self._set_status(text, "warn" if summary.warnings or summary.rows_quarantined else "ok")
        self._show_warnings(summary.warnings, bool(summary.removals))
        self.remove_bars_button.setVisible(bool(summary.removals))
        # doubted bars: the next step is to remove them, not to build a config on them
        self.new_config_button.setVisible(not summary.removals and self.bars_imported() is not None)
        if stored:
            self.imported.emit({**summary.to_dict(), "store_root": str(summary.store_root)})

    def _show_warnings(self, warnings: list[str], removable: bool) -> None:
        """The warnings without the command-line removal hint (the Remove button does it here)."""
        from workstation.store.importer import REMOVAL_HINT

        texts = [w.split(REMOVAL_HINT)[0] for w in warnings]
        if removable:
            texts.append("Remove these bars… below removes the bars of the doubted files; then change the "
                         "settings and import again.")
        self.warnings_label.setText("\n\n".join(texts))
        self.warnings_label.setVisible(bool(warnings))

    def _on_removed(self, results: list) -> None:
        removed: dict[str, int] = {}
        for r in results:
            for symbol, n in r.removed.items():
                removed[symbol] = removed.get(symbol, 0) + n
        total = sum(removed.values())
        files = sum(len(r.files_rewritten) + len(r.files_deleted) for r in results)
        what = "quote bars" if results and all(r.kind == "quotes" for r in results) else "bars"
        line = (f"Removed {total:,} {what} ({', '.join(f'{s} {n:,}' for s, n in sorted(removed.items())) or 'none'}) "
                f"from {counted(files, 'file')}. Change the settings and import again.")
        self.result_text.appendPlainText("\n" + line)
        self._set_status(line, "ok")
        self.warnings_label.setVisible(False)
        self.remove_bars_button.setVisible(False)
        self.summary = None              # its bars are gone: no new config for them
        self.new_config_button.setVisible(False)
        self.removed.emit({"removed": removed, "rows": total})

    def _show_error(self, text: str) -> None:
        self.error = text
        self.result_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.result_text.setPlainText(text)
        self._set_status("The removal stopped: see below." if text.startswith("The bars were not removed")
                         else "The import stopped: see below.", "error")

    def _set_status(self, text: str, tone: str = "") -> None:
        self.status_label.setText(text)
        self.status_label.setProperty("tone", tone)
        self.status_label.style().unpolish(self.status_label)
        self.status_label.style().polish(self.status_label)

    def _update_buttons(self, running: bool = False) -> None:
        running = running or self._worker is not None
        self.import_button.setEnabled(not running and bool(self.files()))
        self.remove_file_button.setEnabled(not running and bool(self.file_list.selectedItems()))
        for w in (self.add_button, self.store_edit, self.store_button, self.symbol_edit, self.kind_combo,
                  self.interval_combo, self.tz_combo, self.bar_time_combo, self.close_button,
                  self.remove_bars_button, self.new_config_button):
            w.setEnabled(not running)
        self.exchange_combo.setEnabled(not running and not self._exchange_fixed)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self._worker is not None:          # an import cannot stop half-way: it finishes first
            self._set_status("The import finishes first (nothing is written until every file is checked)…")
            event.ignore()
            return
        super().closeEvent(event)
