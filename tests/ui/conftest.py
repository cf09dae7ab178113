"""Shared fixtures of the UI tests: offscreen Qt, one small demo store per session, a lean config.

Only adds fixtures (other UI test files define their own); every name starts with `ui_`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UI_SYMBOLS = ["ACME", "BOLT", "CYRX"]
UI_START, UI_END = "2024-12-04", "2024-12-05"


@pytest.fixture(scope="session", autouse=True)
def ui_qt_process_policy(request):
    """Every UI test (also one that asks for neither qapp nor qtbot) runs under the application's Qt
    guards (tests/conftest.py; see ui.app): the None-refcount guard first, then the QApplication and
    garbage collection only in the GUI thread."""
    from ui.app import install_none_refcount_guard

    install_none_refcount_guard()
    return request.getfixturevalue("qt_process_policy")


def event_loop_stuck() -> bool:
    """True when a QEventLoop returns from exec() at once without running (Qt's thread-wide "quit
    now" flag is set: QCoreApplication.exit() ran while no application exec() was running). Every
    later qtbot.wait/waitUntil/waitSignal then returns immediately and no timer ever fires."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    return loop.exec() == -1


def unstick_event_loop(app) -> None:
    """Clear the flag: an application exec() resets it on entry and on return (signals blocked so
    aboutToQuit handlers such as pyqtgraph's clean-up do not run)."""
    from PySide6.QtCore import QTimer

    blocked = app.blockSignals(True)
    try:
        QTimer.singleShot(0, app.quit)
        app.exec()
    finally:
        app.blockSignals(blocked)


@pytest.fixture(autouse=True)
def ui_event_loop_alive(qapp, request):
    """Fails the test that leaves the Qt event loop unable to run, then repairs it, so one such
    test shows as one error instead of a cascade of timeouts in every later test."""
    yield
    if event_loop_stuck():
        unstick_event_loop(qapp)
        assert not event_loop_stuck(), "the Qt event loop could not be restarted"
        pytest.fail(
            f"{request.node.nodeid} left the Qt event loop stopped (QCoreApplication.exit() outside "
            "exec()); later waits would return at once",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def ui_demo_store(tmp_path_factory) -> Path:
    """A demo bar store of 3 symbols and the 8 sessions up to 2024-12-06 (built once per session)."""
    from workstation.store import generate_demo

    root = tmp_path_factory.mktemp("ui_store") / "store"
    generate_demo(root, symbols=3, days=8, seed=11)
    return root


def ui_config_dict(store: Path, **backtest) -> dict:
    """A lean config (2 sessions, 3 symbols, 1m + derived 5m/15m, two strategies) on `store`."""
    return {
        "name": "UI test: three symbols, two sessions",
        "symbols": list(UI_SYMBOLS),
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "indicators": [], "enable_quality": True, "warmup_bars": 30},
        "backtest": {
            "start_date": UI_START,
            "end_date": UI_END,
            "speed_multiplier": 0,
            "prefetch_days": 2,
            **backtest,
        },
        "strategies": [
            {
                "name": "sma_5_20",
                "class_path": "sma_crossover",
                "params": {"fast": 5, "slow": 20, "quantity": 100},
            },
            {
                "name": "rsi_15m",
                "class_path": "rsi_reversion",
                "params": {"period": 14, "oversold": 30, "overbought": 70, "quantity": 50},
                "symbols": ["ACME"],
                "interval": "15m",
            },
        ],
        "data_source": {"store_path": str(store)},
    }


@pytest.fixture
def ui_configs_dir(tmp_path, ui_demo_store) -> Path:
    """A session_configs-like folder holding `small.json` (the lean config on the demo store)."""
    folder = tmp_path / "session_configs"
    folder.mkdir()
    (folder / "small.json").write_text(json.dumps(ui_config_dict(ui_demo_store), indent=2), encoding="utf-8")
    return folder


@pytest.fixture
def ui_write_config(ui_configs_dir, ui_demo_store):
    """write(name, **backtest_overrides) -> path of a lean config in `ui_configs_dir`."""

    def write(name: str, **backtest) -> Path:
        path = ui_configs_dir / f"{name}.json"
        path.write_text(json.dumps(ui_config_dict(ui_demo_store, **backtest), indent=2), encoding="utf-8")
        return path

    return write


@pytest.fixture
def ui_small_config(ui_configs_dir) -> Path:
    return ui_configs_dir / "small.json"


@pytest.fixture
def ui_settings(tmp_path):
    """A QSettings on a temporary ini file (never the user's settings)."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def ui_make_window(qtbot, tmp_path, ui_settings, ui_configs_dir):
    """make(**kw) -> a shown MainWindow on the lean configs and a temporary settings file; every
    window's engine threads are stopped at teardown."""
    from ui.main_window import MainWindow

    windows = []

    def make(settings=ui_settings, **kw):
        w = MainWindow(settings=settings, configs_dir=ui_configs_dir, runs_dir=tmp_path / "runs", modal_errors=False, **kw)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.bridge.shutdown(2.0)


@pytest.fixture
def ui_chart(qtbot):
    """A shown 1000x600 CandleChart."""
    from ui.widgets.chart import CandleChart

    w = CandleChart()
    w.resize(1000, 600)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def ui_themed(qapp):
    """The application's dark theme for this test (restored after): the style sheet's paddings decide
    what fits, and screenshots look as users see them."""
    from ui.theme import apply_theme

    style, palette, sheet, font = qapp.style().name(), qapp.palette(), qapp.styleSheet(), qapp.font()
    apply_theme(qapp)
    yield
    qapp.setStyleSheet(sheet)
    qapp.setPalette(palette)
    qapp.setFont(font)
    qapp.setStyle(style)
