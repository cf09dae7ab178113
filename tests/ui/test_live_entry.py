"""Live mode from the GUI entry points: a live config picked in the main window opens the live
monitor, and `workstation-gui --live CONFIG` runs it standalone (scripted: screenshot, exit 0)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.ui.conftest import UI_SYMBOLS


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
    from ui.app import main

    path = _live_config(ui_demo_store, tmp_path / "live.json", start="2024-12-05T15:55:00")
    shot = tmp_path / "live.png"
    code = main(["--live", str(path), "--quit-when-done", "--screenshot", str(shot), "--size", "1280x800"])
    assert code == 0
    assert shot.exists() and shot.stat().st_size > 20_000
