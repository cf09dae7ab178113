"""Screenshot of the main window with the Orders & Positions panel mid-replay (opening-range breakout).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_orders_panel.py docs/screenshots/orders_panel.png [WxH]

Replays session_configs/example_orb.json on the demo data at 3000x, pauses at 10:40 ET of its third
session (positions open, exits working), brings every view up to date and saves the window; a crop of
the panel goes next to it (`*_panel.png`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def open_example_window(size: str, prefix: str):
    """(app, window, config) of a themed main window of `size` ("WxH") on session_configs/example_orb.json
    and the demo data (created when absent), with throw-away settings and runs; None when it cannot load."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ui.app import install_none_refcount_guard
    from ui.main_window import MainWindow
    from ui.theme import apply_theme
    from workstation.config import load_config
    from workstation.store.demo import ensure_demo_data

    width, height = (int(x) for x in size.split("x"))
    app = QApplication.instance() or QApplication([])
    install_none_refcount_guard()
    apply_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    settings = QSettings(str(tmp / "gui.ini"), QSettings.Format.IniFormat)
    ensure_demo_data(ROOT / "data" / "store")
    window = MainWindow(settings=settings, configs_dir=ROOT / "session_configs", runs_dir=tmp / "runs",
                        modal_errors=False, persist=False)
    window.resize(width, height)
    window.show()
    os.chdir(ROOT)                      # the example's store path (data/store) is relative to the checkout
    config = ROOT / "session_configs" / "example_orb.json"
    if not window.load_config(config):
        print(f"cannot load the example: {window.error_messages}", file=sys.stderr)
        return None
    return app, window, load_config(config)


def main() -> int:
    import pandas as pd

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/orders_panel.png")
    opened = open_example_window(sys.argv[2] if len(sys.argv) > 2 else "1600x1000", "orders_shot_")
    if opened is None:
        return 1
    app, window, cfg = opened
    window.chart_panels[0].set_current_symbol("BOLT")
    window.orders_dock.show()
    window.orders_dock.raise_()
    session = window.bridge.system.sessions[2]
    target = int(pd.Timestamp(f"{session.date} 10:40", tz=cfg.timezone).tz_convert("UTC").value)
    window.speed_control.set_speed(3000)
    window.set_speed(3000)
    window.play()
    deadline = time.monotonic() + 120
    while window.bridge.system.clock.now_ns() < target and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    window.pause()
    for _ in range(50):
        app.processEvents()
        time.sleep(0.01)
    window.refresh_views()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    window.orders_dock.grab().save(str(out.with_name(out.stem + "_panel.png")))
    print(f"screenshot: {out} (and {out.stem}_panel.png) at "
          f"{pd.Timestamp(window.bridge.system.clock.now_ns(), tz='UTC').tz_convert(cfg.timezone)}")
    system = window.bridge.system
    window.bridge.stop()
    system.wait(5.0)
    window.bridge.wait_writers(5.0)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
