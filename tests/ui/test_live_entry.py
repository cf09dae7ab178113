"""Live mode from the GUI entry points: a live config picked in the main window opens the live
monitor, and `workstation-gui --live CONFIG` runs it standalone (scripted: screenshot, exit 0)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from tests.ui.conftest import UI_SYMBOLS

ROOT = Path(__file__).resolve().parents[2]


def _live_config(store: Path, path: Path, start: str = "2024-12-05T15:52:00", speed: float = 600.0) -> Path:
    cfg = {
        "name": "UI live entry test", "mode": "live", "symbols": list(UI_SYMBOLS),
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": []},
        "historical": {"trailing_days": 0, "indicators": [], "warmup_bars": 0},
        "gap_filler": {"max_retries": 1, "retry_interval_seconds": 0.2},
        "backtest": {"start_date": "2024-12-05", "end_date": "2024-12-05"},
        "strategies": [{"name": "sma", "class_path": "sma_crossover"}],
        "risk": {"min_quality_pct": 0},
        "data_source": {"store_path": str(store)},
        "live": {"provider": "replay", "replay": {"start": start, "speed": speed, "drop_fraction": 0.05}},
    }
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def test_live_config_in_main_window_opens_the_live_monitor(qtbot, tmp_path, ui_demo_store):
    from PySide6.QtCore import QSettings

    from ui.main_window import MainWindow
    from ui.windows.live_monitor import LiveMonitorWindow

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, configs_dir=tmp_path, store=str(ui_demo_store), runs_dir=tmp_path / "runs",
                        modal_errors=False)
    qtbot.addWidget(window)
    path = _live_config(ui_demo_store, tmp_path / "live.json")
    assert window.load_config(path)
    monitors = [w for w in window._live_windows if isinstance(w, LiveMonitorWindow)]
    assert len(monitors) == 1 and monitors[0].isVisible()
    system = monitors[0].system
    assert system.cfg.mode == "live" and system.state == "stopped"
    monitors[0].start()
    qtbot.waitUntil(lambda: system.state in ("finished", "stopped", "failed"), timeout=60_000)
    assert system.error is None and system.bars_processed > 0
    window.close()
    qtbot.waitUntil(lambda: not system.alive_threads(), timeout=3_000)


def test_gui_live_scripted_run_writes_screenshot(tmp_path, ui_demo_store):
    """`workstation-gui --live CONFIG --quit-when-done` as a user runs it: its own process and its
    own QApplication (an exec() in the test process would share the application object with every
    later test)."""
    path = _live_config(ui_demo_store, tmp_path / "live.json", start="2024-12-05T15:55:00")
    shot = tmp_path / "live.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-m", "ui.app", "--live", str(path), "--quit-when-done",
         "--screenshot", str(shot), "--size", "1280x800"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert shot.stat().st_size > 20_000


def test_gui_live_with_a_backtest_config_exits_with_a_clear_error(tmp_path, ui_small_config):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, "-m", "ui.app", "--live", str(ui_small_config), "--quit-when-done"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "mode" in proc.stderr and "live" in proc.stderr
