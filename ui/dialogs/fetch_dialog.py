"""The "Fetch from Alpaca…" dialog: download missing history into the bar store without blocking the UI.

Opened by the config editor when its config names symbols or dates the store lacks
(workstation.fetch.plan). It shows what will be fetched (symbols, dates, interval, feed, store),
whether the key variables are set (never their values), runs `workstation.fetch.alpaca.fetch_alpaca`
on a worker thread (progress arrives through a queued Qt signal), lets the user cancel between pages,
and emits `fetched` when the store changed, so the editor checks the config again.
Threads: the UI thread owns every widget; the worker thread only calls `fetch_alpaca` and emits.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable, Mapping

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ui.dialogs.job_parts import job_column, job_form, job_progress, job_status, job_summary
from ui.screen_fit import fit_to_screen
from ui.theme import AMBER, DOWN, MUTED, UP, build_palette, style_sheet
from ui.widgets.date_popup import readable_calendar_popup
from workstation.errors import WorkstationError
from workstation.fetch.alpaca import FetchProgress, FetchRequest, FetchSummary, clean_symbols, fetch_alpaca
from workstation.live.endpoints import ALPACA_STOCK_FEEDS
from workstation.store import BarStore

_EXTRA_STYLE = f"""
QLabel#fetchTitle {{ font-size: 16px; font-weight: 600; }}
QLabel#fetchHelp, QLabel#fetchStatus {{ color: {MUTED}; }}
QLabel#fetchReason {{ color: {AMBER}; }}
QLabel#keysOk {{ color: {UP}; }}
QLabel#keysMissing {{ color: {DOWN}; }}
"""


class FetchDialog(QDialog):
    """Fetch bars from Alpaca into a store; `fetched(summary_dict)` after a fetch that stored bars."""

    fetched = Signal(dict)
    _progress_signal = Signal(object)
    _done_signal = Signal(object, object)      # (FetchSummary | None, error text | None)

    def __init__(self, request: FetchRequest, store_root: str | os.PathLike, parent: QWidget | None = None,
                 environ: Mapping[str, str] | None = None, reason: str = "",
                 fetch: Callable[..., FetchSummary] = fetch_alpaca) -> None:
        super().__init__(parent)
        self.setObjectName("fetchDialog")
        self.setWindowTitle("Fetch history from Alpaca")
        self.setPalette(build_palette())
        self.setStyleSheet(style_sheet() + _EXTRA_STYLE)
        self._request = request
        self._store_root = str(store_root)
        self._environ = os.environ if environ is None else environ
        self._fetch = fetch
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self.summary: FetchSummary | None = None
        self.error: str | None = None
        self._progress_signal.connect(self._on_progress, Qt.ConnectionType.QueuedConnection)
        self._done_signal.connect(self._on_done, Qt.ConnectionType.QueuedConnection)
        self._build(reason)
        fit_to_screen(self, 760, 620)

    # ------------------------------------------------------------------------------------ layout
    def _build(self, reason: str) -> None:
        col = job_column(self, "Fetch history from Alpaca", "fetchTitle")
        if reason:
            why = QLabel(reason, self)
            why.setObjectName("fetchReason")
            why.setWordWrap(True)
            why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            col.addWidget(why)
        helper = QLabel("Downloads bars from Alpaca's market-data API into the bar store, pre- and post-market "
                        "included. Days the store already holds whole are skipped; every row passes the "
                        "importer's checks, refused rows go to the store's quarantine folder.", self)
        helper.setObjectName("fetchHelp")
        helper.setWordWrap(True)
        col.addWidget(helper)

        form = job_form()
        self.symbols_edit = QLineEdit(", ".join(self._request.symbols), self)
        self.symbols_edit.setPlaceholderText("AAPL, MSFT, …")
        form.addRow("Symbols", self.symbols_edit)
        dates = QHBoxLayout()
        self.start_edit = self._date_edit(self._request.start)
        self.end_edit = self._date_edit(self._request.end)
        dates.addWidget(self.start_edit)
        dates.addWidget(QLabel("to", self))
        dates.addWidget(self.end_edit)
        dates.addStretch(1)
        form.addRow("Dates", dates)
        self.feed_combo = QComboBox(self)
        self.feed_combo.addItems(list(ALPACA_STOCK_FEEDS))
        self.feed_combo.setCurrentText(self._request.feed)
        self.feed_combo.setMaximumWidth(180)
        self.feed_combo.setToolTip("iex: free plan; sip: all US exchanges (paid plan)")
        form.addRow("Feed", self.feed_combo)
        form.addRow("Interval", QLabel(self._request.interval, self))
        store = QLabel(self._store_root, self)
        store.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Store", store)
        self.keys_label = QLabel(self)
        self.keys_label.setWordWrap(True)
        form.addRow("Keys", self.keys_label)
        col.addLayout(form)

        self.progress_bar = job_progress(self)
        col.addWidget(self.progress_bar)
        self.status_label = job_status(self, "Ready.", "fetchStatus")
        col.addWidget(self.status_label)
        self.result_text = job_summary(self, "fetchResult", "The summary of the fetch appears here.", 150)
        col.addWidget(self.result_text, 1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton("Fetch", self)
        self.start_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton("Cancel fetch", self)
        self.close_button = QPushButton("Close", self)
        for b in (self.start_button, self.cancel_button, self.close_button):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        self.cancel_button.setEnabled(False)
        col.addLayout(buttons)
        self._update_keys()

    def _date_edit(self, day: dt.date) -> QDateEdit:
        edit = QDateEdit(QDate(day.year, day.month, day.day), self)
        readable_calendar_popup(edit)
        edit.setDisplayFormat("yyyy-MM-dd")
        return edit

    def _update_keys(self) -> bool:
        missing = [n for n in (self._request.key_env, self._request.secret_env)
                   if not str(self._environ.get(n, "")).strip()]
        if missing:
            self.keys_label.setObjectName("keysMissing")
            self.keys_label.setText(f"{' and '.join(missing)} not set: set the key id and secret in the "
                                    "environment before starting the workstation (never in a config file)")
        else:
            self.keys_label.setObjectName("keysOk")
            self.keys_label.setText(f"read from {self._request.key_env} and {self._request.secret_env}")
        self.keys_label.style().unpolish(self.keys_label)
        self.keys_label.style().polish(self.keys_label)
        self.start_button.setEnabled(not missing and self._worker is None)
        return not missing

    # ------------------------------------------------------------------------------------ actions
    def current_request(self) -> FetchRequest:
        """The request the form describes (FetchError for invalid symbols)."""
        def day(edit: QDateEdit) -> dt.date:
            q = edit.date()
            return dt.date(q.year(), q.month(), q.day())

        symbols = tuple(clean_symbols([self.symbols_edit.text()]))
        r = self._request
        return FetchRequest(symbols, day(self.start_edit), day(self.end_edit), r.interval,
                            self.feed_combo.currentText(), r.data_url, r.key_env, r.secret_env)

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self) -> None:
        """Start the fetch on a worker thread (the dialog stays responsive)."""
        if self._worker is not None or not self._update_keys():
            return
        try:
            request = self.current_request()
        except WorkstationError as exc:
            self._show_error(str(exc))
            return
        self._stop.clear()
        self.summary, self.error = None, None
        self.result_text.clear()
        self.status_label.setText("Connecting…")
        self.progress_bar.setRange(0, 0)          # busy until the first progress report
        for w in (self.symbols_edit, self.start_edit, self.end_edit, self.feed_combo, self.start_button,
                  self.close_button):
            w.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._worker = threading.Thread(target=self._run, args=(request,), name="alpaca-fetch", daemon=True)
        self._worker.start()

    def _run(self, request: FetchRequest) -> None:
        try:
            store = BarStore(self._store_root, create=True)
            summary = self._fetch(store, request, environ=self._environ, stop=self._stop,
                                  progress=self._progress_signal.emit)
        except WorkstationError as exc:
            self._done_signal.emit(None, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug must reach the user, not kill the thread silently
            self._done_signal.emit(None, f"{type(exc).__name__}: {exc}")
        else:
            self._done_signal.emit(summary, None)

    def cancel(self) -> None:
        """Stop after the current page (bars of whole days already stored are kept)."""
        if self._worker is not None:
            self._stop.set()
            self.cancel_button.setEnabled(False)
            self.status_label.setText("Cancelling after the current page…")

    def wait(self, timeout: float = 30.0) -> bool:
        """Join the worker (tests); the done signal still has to be processed by the event loop."""
        worker = self._worker
        if worker is None:
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def _on_progress(self, p: FetchProgress) -> None:
        total = max(1, p.symbol_days_total)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(min(p.symbol_days_done, total))
        waits = f" · rate-limited {p.rate_limited}×" if p.rate_limited else ""
        self.status_label.setText(f"{p.current} · symbol-days {p.symbol_days_done}/{p.symbol_days_total} · "
                                  f"bars {p.bars_received:,} · pages {p.pages}{waits}")

    def _on_done(self, summary: FetchSummary | None, error: str | None) -> None:
        self._worker = None
        for w in (self.symbols_edit, self.start_edit, self.end_edit, self.feed_combo, self.close_button):
            w.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._update_keys()
        if error is not None:
            self._show_error(error)
            if "kept" in error:          # whole days were stored before the failure
                self.fetched.emit({"ok": False, "error": error})
            return
        assert summary is not None
        self.summary = summary
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(1)
        self.status_label.setText(f"Done: {summary.rows_stored:,} bars stored, {summary.symbol_days_skipped:,} "
                                  f"symbol-days already complete, {summary.rows_quarantined:,} rows quarantined.")
        self.result_text.setPlainText(summary.render())
        self.fetched.emit(summary.to_dict())

    def _show_error(self, text: str) -> None:
        self.error = text
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.status_label.setText("The fetch stopped.")
        self.result_text.setPlainText(text)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if self._worker is not None:
            self.cancel()
            event.ignore()
            return
        super().closeEvent(event)


def offer_fetch_for_config(parent: QWidget | None, config_path: str | os.PathLike,
                           store_path: str | os.PathLike | None = None,
                           on_fetched: Callable[[dict], None] | None = None) -> FetchDialog | None:
    """Open a FetchDialog when the config at `config_path` names symbols or dates its store lacks
    (None when it does not, or the config cannot be read). `on_fetched` runs after bars were stored."""
    from workstation.config import load_config
    from workstation.fetch.plan import fetch_request_for, missing_store_data

    try:
        cfg = load_config(config_path)
        missing = missing_store_data(cfg, store_path)
    except (WorkstationError, OSError):
        return None
    if missing is None:
        return None
    dialog = FetchDialog(fetch_request_for(cfg, missing), missing.store_root, parent, reason=missing.describe())
    if on_fetched is not None:
        dialog.fetched.connect(on_fetched)
    dialog.show()
    return dialog
