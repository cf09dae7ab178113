"""File → Import bars…: vendor exports into the store from the window, off the UI thread.

The expectation is independent of the dialog: the bars the original vendor file (times with their UTC
offsets) stores through `import_files`, compared bar for bar with what the dialog stored from a
MetaTrader 5 or NinjaTrader export of the same bars (written as tests/workstation/store/
test_vendor_exports.py writes them). Set IMPORT_SCREENSHOTS=DIR to save the dialog as PNG files there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QMessageBox

from tests.shared_data import require_shared
from tests.workstation.store.conftest import REAL_DIR
from tests.workstation.store.test_import_exchange import london_bars
from tests.workstation.store.test_vendor_exports import NY, _metatrader5, _ninjatrader
from ui.dialogs.import_dialog import ImportDialog
from workstation.store import BarStore, import_files

SESSIONS = 4          # the first sessions of the real SPY file: a quick import


@pytest.fixture
def make_window(ui_make_window):
    return ui_make_window


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    """The first sessions of the real SPY file, and that slice as a file with its offsets."""
    real = require_shared(REAL_DIR / "lumibot" / "SPY_Minute_2021.csv.gz", "the real SPY file")
    df = pd.read_csv(real)
    df["local"] = pd.to_datetime(df["time"], utc=True).dt.tz_convert(NY)
    days = sorted(df["local"].dt.date.unique())[:SESSIONS]
    df = df[df["local"].dt.date.isin(days)].reset_index(drop=True)
    original = tmp_path_factory.mktemp("original") / "SPY_Minute.csv"
    df[["time", "open", "high", "low", "close", "volume"]].to_csv(original, index=False)
    return df, original


@pytest.fixture(scope="module")
def expected(source, tmp_path_factory) -> pd.DataFrame:
    store = BarStore(tmp_path_factory.mktemp("expected") / "store", create=True)
    import_files([source[1]], store)
    return _stored(store)


def _stored(store: BarStore | Path) -> pd.DataFrame:
    store = store if isinstance(store, BarStore) else BarStore(store)
    bars = store.read_bars(["SPY"], "1m", 0, 2**62)
    frame = bars[["timestamp", "open", "high", "low", "close", "volume"]].copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True).dt.as_unit("ns").astype("int64")
    return frame.astype({"volume": np.float64}).reset_index(drop=True)


def _shot(widget, name: str) -> None:
    folder = os.environ.get("IMPORT_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / name))


def _dialog(qtbot, store: Path, files) -> ImportDialog:
    dialog = ImportDialog(store, files=files)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _run(qtbot, dialog: ImportDialog, action) -> None:
    action()
    assert dialog.is_running()
    assert not dialog.import_button.isEnabled() and not dialog.close_button.isEnabled()
    assert dialog.wait(120)
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=10_000)


def test_a_metatrader_export_imports_from_the_dialog_as_the_original_file_stores_it(qtbot, source, expected,
                                                                                   tmp_path):
    export = tmp_path / "SPY_M1.csv"
    _metatrader5(source[0], export)
    store = tmp_path / "store"
    dialog = _dialog(qtbot, store, [export])
    assert dialog.files() == [str(export)] and dialog.import_button.isEnabled()
    assert dialog.options()["tz"] is None                 # "the files' own UTC offsets": no --tz
    assert dialog.exchange_combo.currentText() == "XNYS" and dialog.exchange_combo.isEnabled()    # a new store
    dialog.tz_combo.setCurrentText(NY)
    assert dialog.options() == {"symbol": None, "tz": NY, "interval": "1m", "kind": "bars", "bar_time": "start"}
    with qtbot.waitSignal(dialog.imported, timeout=120_000) as signal:
        _run(qtbot, dialog, dialog.start)
    _shot(dialog, "import_done.png")
    pd.testing.assert_frame_equal(_stored(store), expected)
    assert signal.args[0]["rows_stored"] == len(expected) and list(signal.args[0]["per_symbol"]) == ["SPY"]
    assert dialog.status_label.text().startswith(f"Stored {len(expected):,} bars of SPY (0 rows refused")
    assert "SPY_M1.csv" in dialog.result_text.toPlainText()
    assert not dialog.warnings_label.isVisible() and not dialog.remove_bars_button.isVisible()
    assert dialog.import_button.isEnabled() and dialog.close_button.isEnabled()
    days = sorted(str(d) for d in source[0]["local"].dt.date.unique())
    assert dialog.new_config_button.isVisible()
    with qtbot.waitSignal(dialog.new_config_requested) as asked:
        dialog.new_config_button.click()
    assert asked.args[0] == {"symbols": ["SPY"], "start": days[0], "end": days[-1], "store_path": str(store),
                             "exchange": "XNYS"}


def test_end_stamped_bars_are_doubted_removed_from_the_dialog_and_imported_again(qtbot, source, expected, tmp_path,
                                                                                 monkeypatch):
    export = tmp_path / "SPY.Last.txt"
    _ninjatrader(source[0], export)
    store = tmp_path / "store"
    dialog = _dialog(qtbot, store, [export])
    dialog.tz_combo.setCurrentText(NY)
    _run(qtbot, dialog, dialog.start)             # read as bar starts: each bar a minute late
    assert len(_stored(store)) == len(expected)
    assert not _stored(store)["timestamp"].equals(expected["timestamp"])
    assert dialog.warnings_label.isVisible() and "look like bar ends" in dialog.warnings_label.text()
    assert "workstation store remove" not in dialog.warnings_label.text()     # the button does it here
    assert dialog.remove_bars_button.isVisible() and dialog.remove_bars_button.isEnabled()
    assert not dialog.new_config_button.isVisible()             # not a config on doubted bars
    _shot(dialog, "import_doubted.png")

    asked = []

    def confirm(box: QMessageBox) -> int:         # the box as the user sees it; press its Remove button
        asked.append(box.text())
        assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)     # Enter keeps the bars
        next(b for b in box.buttons() if b.text() == "Remove").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", confirm)
    with qtbot.waitSignal(dialog.removed, timeout=60_000) as removed:
        _run(qtbot, dialog, dialog.remove_doubted_bars)
    first, last = (str(d) for d in sorted(source[0]["local"].dt.date.unique())[::SESSIONS - 1])
    assert asked and f"SPY: every 1m bar from {first} to {last}" in asked[0] and str(store) in asked[0]
    assert removed.args[0]["removed"] == {"SPY": len(expected)}
    assert not dialog.new_config_button.isVisible() and dialog.bars_imported() is None     # nothing left
    assert BarStore(store).read_bars(["SPY"], "1m", 0, 2**62).empty
    assert not dialog.remove_bars_button.isVisible() and not dialog.warnings_label.isVisible()

    dialog.bar_time_combo.setCurrentIndex(dialog.bar_time_combo.findData("end"))
    _run(qtbot, dialog, dialog.start)
    pd.testing.assert_frame_equal(_stored(store), expected)
    assert not dialog.warnings_label.isVisible() and not dialog.remove_bars_button.isVisible()
    assert dialog.new_config_button.isVisible()


def test_a_cancelled_removal_removes_nothing(qtbot, source, tmp_path, monkeypatch):
    export = tmp_path / "SPY.Last.txt"
    _ninjatrader(source[0], export)
    store = tmp_path / "store"
    dialog = _dialog(qtbot, store, [export])
    dialog.tz_combo.setCurrentText(NY)
    _run(qtbot, dialog, dialog.start)
    before = _stored(store)
    monkeypatch.setattr(QMessageBox, "exec", lambda box: 0)      # closed without pressing Remove
    dialog.remove_doubted_bars()
    assert not dialog.is_running()
    pd.testing.assert_frame_equal(_stored(store), before)
    assert dialog.remove_bars_button.isVisible()


def test_a_file_that_cannot_be_used_stores_nothing_and_the_dialog_says_why(qtbot, source, tmp_path):
    export = tmp_path / "SPY_M1.csv"
    _metatrader5(source[0], export)
    store = tmp_path / "store"
    dialog = _dialog(qtbot, store, [export])     # no time zone for times without an offset
    _run(qtbot, dialog, dialog.start)
    assert "SPY_M1.csv" in dialog.error and "--tz" in dialog.error and "nothing was imported" in dialog.error
    assert dialog.result_text.toPlainText() == dialog.error
    assert dialog.status_label.text() == "The import stopped: see below."
    assert dialog.status_label.property("tone") == "error"
    assert not (store / "bars").exists()
    assert dialog.import_button.isEnabled() and dialog.tz_combo.isEnabled()
    _shot(dialog, "import_error.png")

    bad = tmp_path / "SPY_no_close.csv"
    pd.DataFrame({"time": ["2021-07-01T13:30:00Z"], "open": [1.0], "high": [1.0], "low": [1.0]}).to_csv(bad,
                                                                                                         index=False)
    dialog.file_list.clear()
    dialog.add_files([bad])
    _run(qtbot, dialog, dialog.start)
    assert "SPY_no_close.csv" in dialog.error and "close" in dialog.error
    assert not (store / "bars").exists()


def test_files_are_listed_once_and_removed_from_the_list(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path / "store", [])
    assert not dialog.import_button.isEnabled()
    dialog.add_files([tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "a.csv"])
    assert dialog.files() == [str(tmp_path / "a.csv"), str(tmp_path / "b.csv")]
    assert dialog.import_button.isEnabled() and not dialog.remove_file_button.isEnabled()
    dialog.file_list.item(0).setSelected(True)
    assert dialog.remove_file_button.isEnabled()
    dialog.remove_file_button.click()
    assert dialog.files() == [str(tmp_path / "b.csv")]


def test_the_window_opens_the_dialog_on_its_store_and_reports_the_import(make_window, ui_small_config,
                                                                        ui_demo_store, tmp_path):
    w = make_window()
    assert w.load_config(ui_small_config)
    assert "Ctrl+I" in [k.toString() for k in w.import_action.shortcuts()]
    assert w.import_action in w.menuBar().actions()[0].menu().actions()
    w.import_action.trigger()
    dialog = w.import_dialog
    assert isinstance(dialog, ImportDialog) and dialog.isVisible()
    assert Path(dialog.store_edit.text()) == ui_demo_store
    assert dialog.exchange_combo.currentText() == "XNYS" and not dialog.exchange_combo.isEnabled()  # the store's
    w.open_import_dialog([tmp_path / "x.csv"])      # the open dialog takes more files, no second one
    assert w.import_dialog is dialog and dialog.files() == [str(tmp_path / "x.csv")]
    dialog.imported.emit({"rows_stored": 1234, "per_symbol": {"SPY": {}, "QQQ": {}}, "store_root": str(ui_demo_store)})
    assert w.statusBar().currentMessage() == "Imported 1,234 bars of QQQ, SPY"   # not the config's symbols
    assert not w.loading
    dialog.close()


def test_bars_of_the_loaded_configs_symbols_load_it_again_unless_its_run_started(qtbot, make_window, ui_small_config,
                                                                                 ui_demo_store, tmp_path):
    w = make_window()
    assert w.load_config(ui_small_config)
    before = w.bridge.system
    w.open_import_dialog()
    dialog = w.import_dialog
    dialog.imported.emit({"rows_stored": 10, "per_symbol": {"ACME": {}}, "store_root": str(tmp_path / "other")})
    assert not w.loading and w.bridge.system is before               # another store: nothing to reload
    dialog.imported.emit({"rows_stored": 10, "per_symbol": {"ACME": {}}, "store_root": str(ui_demo_store)})
    assert w.loading                                                 # in the background, as File → Open does
    qtbot.waitUntil(lambda: not w.loading, timeout=30_000)
    assert w.bridge.system is not before and w.bridge.config_path == ui_small_config
    w.step_action.trigger()                                          # the run has started: say, do not reload
    qtbot.waitUntil(lambda: w.bridge.started, timeout=10_000)
    started = w.bridge.system
    dialog.imported.emit({"rows_stored": 10, "per_symbol": {"ACME": {}}, "store_root": str(ui_demo_store)})
    assert not w.loading and w.bridge.system is started
    assert w.statusBar().currentMessage().endswith(f"; load {ui_small_config.name} again to replay them")
    dialog.close()


def test_closing_the_window_waits_for_an_import_in_progress(make_window, tmp_path):
    w = make_window()
    w.open_import_dialog([tmp_path / "x.csv"])
    release, finished = threading.Event(), []

    def slow_import(files, store, **options):
        release.wait(10)
        finished.append(files)
        raise RuntimeError("stand-in import")

    w.import_dialog._importer = slow_import
    w.import_dialog.start()
    assert w.import_dialog.is_running()
    threading.Timer(0.3, release.set).start()
    w.close()
    assert finished == [[str(tmp_path / "x.csv")]]      # the window closed only after the import ended


def test_a_new_config_for_the_imported_bars_opens_valid_in_the_editor(qtbot, make_window, ui_small_config, source,
                                                                      tmp_path):
    export = tmp_path / "SPY_M1.csv"
    _metatrader5(source[0], export)
    w = make_window()
    assert w.load_config(ui_small_config)
    w.open_import_dialog([export])
    dialog = w.import_dialog
    dialog.store_edit.setText(str(tmp_path / "store"))
    dialog.tz_combo.setCurrentText(NY)
    _run(qtbot, dialog, dialog.start)
    dialog.new_config_button.click()
    editor = w._editor
    assert editor is not None and editor.config_path() is None          # a new config: Save asks for a name
    editor.revalidate()
    data = editor.current_dict()
    days = sorted(str(d) for d in source[0]["local"].dt.date.unique())
    assert data["symbols"] == ["SPY"] and data["data_source"]["store_path"] == str(tmp_path / "store")
    assert (data["backtest"]["start_date"], data["backtest"]["end_date"]) == (days[0], days[-1])
    assert editor.is_valid(), editor.problems()          # pre-flight included: the store holds those bars
    _shot(editor, "import_new_config.png")
    editor.close()
    dialog.close()


def test_files_dropped_on_the_dialog_are_added(qtbot, tmp_path):
    dialog = _dialog(qtbot, tmp_path / "store", [])
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "AAPL_M1.csv")), QUrl("https://example.com/x.csv")])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    dialog.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    dialog.dropEvent(drop)
    assert dialog.files() == [str(tmp_path / "AAPL_M1.csv")]        # local files only
    assert dialog.import_button.isEnabled()


def _hold_the_lock(store: Path, seconds: float) -> subprocess.Popen:
    """Another process writing the store (as a `workstation import` would): it holds the write lock."""
    code = ("import sys, time; from workstation.store import BarStore; from workstation.store.lock import "
            "StoreWriteLock\nBarStore(sys.argv[1], create=True)\nwith StoreWriteLock(sys.argv[1]):\n"
            "    print('held', flush=True); time.sleep(float(sys.argv[2]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(store), str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_an_import_waits_for_another_writer_then_stores_or_gives_up_storing_nothing(qtbot, source, expected,
                                                                                    tmp_path, monkeypatch):
    import ui.dialogs.import_dialog as import_dialog

    export = tmp_path / "SPY_M1.csv"
    _metatrader5(source[0], export)
    store = tmp_path / "store"
    dialog = _dialog(qtbot, store, [export])
    dialog.tz_combo.setCurrentText(NY)

    holder = _hold_the_lock(store, 1.5)
    monkeypatch.setattr(import_dialog, "LOCK_WAIT_S", 30.0)
    dialog.start()
    qtbot.waitUntil(lambda: "is being written by process" in dialog.status_label.text(), timeout=10_000)
    assert f"process {holder.pid}" in dialog.status_label.text() and dialog.is_running()
    assert dialog.wait(60)
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=10_000)
    holder.wait(10)
    pd.testing.assert_frame_equal(_stored(store), expected)         # stored once the other writer was done

    other = tmp_path / "other"
    holder = _hold_the_lock(other, 5)
    try:
        monkeypatch.setattr(import_dialog, "LOCK_WAIT_S", 0.3)
        dialog.store_edit.setText(str(other))
        _run(qtbot, dialog, dialog.start)
        assert f"process {holder.pid}" in dialog.error and "Nothing was written" in dialog.error
        assert "--wait" not in dialog.error                    # a command-line option: not in the window
        assert dialog.status_label.text() == "The import stopped: see below."
        assert not (other / "bars").exists()                      # nothing was written
    finally:
        holder.kill()
        holder.wait(10)


def test_removing_a_doubted_quote_import_removes_its_quote_bars_not_the_trade_bars(qtbot, tmp_path, monkeypatch):
    from tests.workstation.store.test_store_remove import _quote_file
    from workstation.store import generate_demo
    from workstation.store.quote_store import read_quotes

    generate_demo(tmp_path / "store", symbols=2, days=10, seed=5)
    store = BarStore(tmp_path / "store")
    trades = store.read_bars(None, "1m", 0, 2**62)
    symbol = sorted(trades["symbol"].unique())[0]
    quotes = tmp_path / f"{symbol}_quotes.csv"
    _quote_file(trades[trades["symbol"] == symbol].reset_index(drop=True), quotes, symbol, end_stamped=True)
    dialog = _dialog(qtbot, store.root, [quotes])
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData("quotes"))
    dialog.tz_combo.setCurrentText(NY)
    _run(qtbot, dialog, dialog.start)
    assert dialog.status_label.text().startswith("Stored ") and "quote bars" in dialog.status_label.text()
    assert not read_quotes(store, [symbol], 0, 2**62).empty and dialog.remove_bars_button.isVisible()
    assert dialog.bars_imported() is None and not dialog.new_config_button.isVisible()   # quotes: no config

    asked = []

    def confirm(box: QMessageBox) -> int:
        asked.append(box.text())
        next(b for b in box.buttons() if b.text() == "Remove").click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", confirm)
    _run(qtbot, dialog, dialog.remove_doubted_bars)
    assert f"{symbol}: every 1m quote bar from" in asked[0]
    assert read_quotes(store, [symbol], 0, 2**62).empty                      # the doubted quote bars went
    pd.testing.assert_frame_equal(store.read_bars(None, "1m", 0, 2**62), trades)   # every trade bar stayed
    assert "quote bars" in dialog.status_label.text()


def test_a_new_store_on_another_exchange_and_a_config_for_it(qtbot, make_window, ui_small_config, tmp_path):
    source = tmp_path / "london.csv"
    frame = london_bars(source)
    w = make_window()
    assert w.load_config(ui_small_config)
    w.open_import_dialog([source])
    dialog = w.import_dialog
    dialog.store_edit.setText(str(tmp_path / "lse"))
    assert dialog.exchange_combo.isEnabled()                     # a new store: its exchange is chosen here
    dialog.exchange_combo.setCurrentText("XLON")
    dialog.tz_combo.setCurrentText("Europe/London")
    _run(qtbot, dialog, dialog.start)
    store = BarStore(tmp_path / "lse")
    assert store.exchange == "XLON" and dialog.summary.exchange == "XLON"
    assert len(store.read_bars(None, "1m", 0, 2**62)) == len(frame)
    assert dialog.summary.per_symbol["VOD"]["rth_bars"] == len(frame) // 2     # London's session, not New York's
    dialog.store_edit.setText(str(tmp_path / "lse"))
    assert dialog.exchange_combo.currentText() == "XLON" and not dialog.exchange_combo.isEnabled()
    dialog.new_config_button.click()
    editor = w._editor
    editor.revalidate()
    data = editor.current_dict()
    assert (data["exchange"], data["timezone"], data["symbols"]) == ("XLON", "Europe/London", ["BP", "VOD"])
    assert editor.is_valid(), editor.problems()                 # pre-flight on the XLON store included
    editor.close()
    # bars of another exchange never go into this store
    dialog.exchange_combo.setEnabled(True)
    dialog.exchange_combo.setCurrentText("XNYS")
    dialog._exchange_fixed = False
    _run(qtbot, dialog, dialog.start)
    assert "holds XLON bars, not XNYS" in dialog.error
    dialog.close()


def test_the_open_dialog_follows_the_windows_store_unless_another_was_chosen_in_it(make_window, ui_small_config,
                                                                                  ui_demo_store, tmp_path):
    w = make_window()
    w.open_import_dialog([tmp_path / "x.csv"])          # no config yet: the default store
    dialog = w.import_dialog
    assert Path(dialog.store_edit.text()) == w.store_root() != ui_demo_store
    assert w.load_config(ui_small_config)               # a config on the demo store: the dialog follows
    assert Path(dialog.store_edit.text()) == ui_demo_store
    assert dialog.exchange_combo.currentText() == "XNYS" and not dialog.exchange_combo.isEnabled()
    assert str(ui_demo_store) in dialog.status_label.text()
    chosen = tmp_path / "my-store"
    dialog.store_edit.setText(str(chosen))              # the user's choice is kept over another load
    assert w.load_config(ui_small_config)
    assert Path(dialog.store_edit.text()) == chosen
    dialog.close()
