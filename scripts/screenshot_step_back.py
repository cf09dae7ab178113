"""Screenshots of step back and the timeline (opening-range breakout on the demo data).

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_step_back.py docs/screenshots/step_back.png [WxH]

Replays session_configs/example_orb.json at 3000x to 11:30 ET of its third session, pauses, clicks the
timeline at 10:05 of that session (the engine restores a snapshot and replays to it), and saves the
window with the Orders & Positions panel up; then presses the mouse on the timeline and drags it (the
time label shows), saved as `*_drag.png`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def settle(app, seconds: float = 0.5) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    import pandas as pd
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from scripts.screenshot_orders_panel import open_example_window

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/step_back.png")
    opened = open_example_window(sys.argv[2] if len(sys.argv) > 2 else "1600x1000", "step_back_shot_")
    if opened is None:
        return 1
    app, window, cfg = opened
    window.chart_panels[0].set_current_symbol("BOLT")
    window.orders_dock.show()
    window.orders_dock.raise_()
    system = window.bridge.system
    session = system.sessions[2]

    def at(clock: str) -> int:
        return int(pd.Timestamp(f"{session.date} {clock}", tz=cfg.timezone).tz_convert("UTC").value)

    window.speed_control.set_speed(3000)
    window.set_speed(3000)
    window.play()
    deadline = time.monotonic() + 120
    while system.clock.now_ns() < at("11:30") and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    window.pause()
    settle(app)
    before = window.bridge.last_seek
    x = int(window.timeline.x_of(at("10:05") + 30_000_000_000))
    QTest.mouseClick(window.timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 12))
    deadline = time.monotonic() + 60
    while window.bridge.last_seek is before and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)
    settle(app)
    window.refresh_views()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"screenshot: {out} at {pd.Timestamp(system.clock.now_ns(), tz='UTC').tz_convert(cfg.timezone)}; "
          f"{window.statusBar().currentMessage()}")
    x2 = int(window.timeline.x_of(at("14:10")))
    QTest.mousePress(window.timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, 12))
    for step in range(1, 11):
        QTest.mouseMove(window.timeline, QPoint(x + (x2 - x) * step // 10, 12))
        settle(app, 0.05)
    drag = out.with_name(out.stem + "_drag.png")
    window.grab().save(str(drag))
    QTest.mouseRelease(window.timeline, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x2, 12))
    settle(app, 1.0)
    print(f"screenshot: {drag}")
    window.bridge.stop()
    system.wait(5.0)
    window.bridge.wait_writers(5.0)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
