"""The config editor offers "Fetch from Alpaca…" when its config names symbols or dates the store lacks;
the fetch runs off the UI thread against the loopback stand-in, and the config is checked again after.

Set FETCH_SCREENSHOTS=DIR to save the editor and the dialog as PNG files there.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.workstation.fetch.fetch_standin import FetchStandIn, session_bars
from ui.dialogs.config_editor import ConfigEditorDialog
from ui.dialogs.fetch_dialog import FetchDialog
from workstation.fetch.alpaca import FetchRequest
from workstation.store import BarStore

EXAMPLE = Path(__file__).resolve().parents[2] / "session_configs" / "example_session.json"
KEY, SECRET = "gui-key-id-31337", "gui-secret-27182"
DAYS = ["2024-03-04", "2024-03-05", "2024-03-06"]


def _shot(widget, name: str) -> None:
    folder = os.environ.get("FETCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        widget.grab().save(str(Path(folder) / name))


@pytest.fixture
def standin(monkeypatch):
    server = FetchStandIn(KEY, SECRET, page_size=500).start()
    for i, day in enumerate(DAYS):
        server.add_bars("AAA", session_bars("AAA", day, 50 + i, list(range(570, 960))))
        server.add_bars("BBB", session_bars("BBB", day, 80 + i, list(range(570, 960, 3))))
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    monkeypatch.setenv("APCA_API_DATA_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    data = json.loads(EXAMPLE.read_text())
    data["symbols"] = ["AAA", "BBB"]
    data["backtest"]["start_date"], data["backtest"]["end_date"] = DAYS[0], DAYS[-1]
    data["strategies"] = [data["strategies"][0]]
    data["historical"]["trailing_days"] = 0
    data["historical"]["indicators"] = []
    data["data_source"]["store_path"] = str(tmp_path / "store")
    path = tmp_path / "configs" / "fetch_me.json"
    path.parent.mkdir()
    path.write_text(json.dumps(data, indent=2))
    return path


def test_editor_offers_a_fetch_and_rechecks_the_config_after_it(qtbot, standin, config_path, tmp_path):
    editor = ConfigEditorDialog(config_path, configs_dir=config_path.parent)
    qtbot.addWidget(editor)
    editor.resize(1100, 760)
    editor.show()
    editor.revalidate()
    assert not editor.is_valid()                      # no bar store yet
    assert editor.fetch_offered() and editor._fetch_button.isVisible()
    assert "AAA, BBB" in editor._fetch_button.toolTip()
    _shot(editor, "config_editor_fetch_offer.png")

    dialog = editor.open_fetch()
    assert isinstance(dialog, FetchDialog)
    qtbot.addWidget(dialog)
    assert dialog.symbols_edit.text() == "AAA, BBB"
    assert dialog.start_edit.date().toString("yyyy-MM-dd") == DAYS[0]
    assert dialog.end_edit.date().toString("yyyy-MM-dd") == DAYS[-1]
    assert KEY not in dialog.keys_label.text() and "APCA_API_KEY_ID" in dialog.keys_label.text()
    dialog.start()
    assert dialog.is_running() and not dialog.close_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.summary is not None or dialog.error is not None, timeout=60_000)
    assert dialog.error is None, dialog.error
    assert dialog.summary.symbol_days_fetched == 6
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert "bars stored" in dialog.status_label.text()
    _shot(dialog, "fetch_dialog_done.png")
    # the editor checked the config again: the store now has the bars, the offer is gone
    qtbot.waitUntil(lambda: not editor.fetch_offered(), timeout=10_000)
    assert editor.is_valid(), editor._problems
    assert not editor._fetch_button.isVisible()
    stored = BarStore(tmp_path / "store")
    assert stored.symbols() == ["AAA", "BBB"] and len(stored.dates()) == 3
    _shot(editor, "config_editor_after_fetch.png")
    editor.discard_changes()


def test_dialog_stays_responsive_and_cancels(qtbot, standin, tmp_path):
    """The fetch runs on a worker thread: the UI thread processes events while the server holds a page."""
    standin.block_after = 1
    request = FetchRequest(("AAA",), *(__import__("datetime").date.fromisoformat(d) for d in (DAYS[0], DAYS[-1])))
    dialog = FetchDialog(request, tmp_path / "store")
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.start()
    assert standin.blocked.wait(30)
    ticks = []
    timer_done = threading.Event()
    from PySide6.QtCore import QTimer

    QTimer.singleShot(10, lambda: (ticks.append(1), timer_done.set()))
    qtbot.waitUntil(lambda: bool(ticks), timeout=5_000)   # the event loop runs while the request hangs
    _shot(dialog, "fetch_dialog_running.png")
    dialog.cancel()
    assert "Cancelling" in dialog.status_label.text()
    standin.release.set()
    qtbot.waitUntil(lambda: dialog.error is not None, timeout=30_000)
    assert "cancelled" in dialog.error and "nothing was written" in dialog.error
    assert dialog.close_button.isEnabled() and dialog.start_button.isEnabled()


def test_dialog_without_keys_cannot_start(qtbot, monkeypatch, tmp_path):
    monkeypatch.delenv("APCA_API_KEY_ID", raising=False)
    monkeypatch.delenv("APCA_API_SECRET_KEY", raising=False)
    import datetime as dt

    dialog = FetchDialog(FetchRequest(("AAA",), dt.date(2024, 3, 4), dt.date(2024, 3, 5)), tmp_path / "s")
    qtbot.addWidget(dialog)
    assert not dialog.start_button.isEnabled()
    assert "APCA_API_KEY_ID and APCA_API_SECRET_KEY not set" in dialog.keys_label.text()
    dialog.start()
    assert not dialog.is_running() and not (tmp_path / "s").exists()
    _shot(dialog, "fetch_dialog_no_keys.png")


def test_no_offer_when_the_store_has_everything(qtbot, standin, config_path, tmp_path):
    import datetime as dt

    from workstation.config import load_config
    from workstation.fetch.alpaca import fetch_alpaca
    from workstation.fetch.plan import missing_store_data

    cfg = load_config(config_path)
    missing = missing_store_data(cfg)
    assert missing is not None and missing.symbols == ("AAA", "BBB") and missing.missing_symbol_days == 6
    store = BarStore(tmp_path / "store", create=True)
    fetch_alpaca(store, FetchRequest(("AAA",), dt.date(2024, 3, 4), dt.date(2024, 3, 6)))
    partial = missing_store_data(cfg)
    assert partial is not None and partial.symbols == ("BBB",) and partial.missing_symbol_days == 3
    fetch_alpaca(store, FetchRequest(("BBB",), dt.date(2024, 3, 5), dt.date(2024, 3, 6)))
    last = missing_store_data(cfg)
    assert last is not None and (last.start, last.end, last.missing_symbol_days) == (dt.date(2024, 3, 4),) * 2 + (1,)
    fetch_alpaca(store, FetchRequest(("BBB",), dt.date(2024, 3, 4), dt.date(2024, 3, 4)))
    assert missing_store_data(cfg) is None
    shutil.rmtree(tmp_path / "store")


def test_main_window_offers_the_fetch_when_a_config_lacks_data_and_loads_it_after(
        qtbot, standin, config_path, ui_make_window):
    window = ui_make_window()
    assert window.load_config(config_path) is False           # the store is missing: the load fails...
    assert window.error_messages and "Cannot load the session config" in window.error_messages[-1][0]
    dialog = window.fetch_dialog                              # ...and the fetch is offered
    assert dialog is not None and dialog.isVisible()
    assert dialog.symbols_edit.text() == "AAA, BBB"
    _shot(window, "main_window_fetch_offer.png")
    dialog.start()
    qtbot.waitUntil(lambda: dialog.summary is not None or dialog.error is not None, timeout=60_000)
    assert dialog.error is None, dialog.error
    qtbot.waitUntil(lambda: window.bridge.config is not None and window.bridge.config.symbols == ["AAA", "BBB"],
                    timeout=20_000)                           # loaded once the bars are in the store
    dialog.close()


def test_main_window_offers_nothing_for_other_load_errors(qtbot, ui_make_window, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    window = ui_make_window()
    assert window.load_config(broken) is False
    assert window.fetch_dialog is None
