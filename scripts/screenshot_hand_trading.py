"""Screenshot of hand trading mid-replay: order lines, the position line and the trade bar.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_hand_trading.py docs/screenshots/hand_trading.png [WxH]

Replays session_configs/example_orb.json on the demo data (strategies on: the ORB's bracket exits show
beside the hand orders), pauses at 10:20 ET of its third session on BOLT, then trades by hand as a user
would: a market buy with the trade bar's stop loss and take profit, a buy limit below the market from the
chart's menu (its exits held), a sell stop; one more bar, and the window is saved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    import pandas as pd

    from scripts.screenshot_orders_panel import open_example_window
    from ui.widgets.chart.chart_actions import ChartPoint

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots/hand_trading.png")
    opened = open_example_window(sys.argv[2] if len(sys.argv) > 2 else "1600x1000", "hand_shot_")
    if opened is None:
        return 1
    app, window, cfg = opened
    panel = window.chart_panels[0]
    panel.set_current_symbol("BOLT")

    def pump(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.005)

    bridge = window.bridge
    session = bridge.system.sessions[2]
    target = int(pd.Timestamp(f"{session.date} 10:20", tz=cfg.timezone).tz_convert("UTC").value)
    window.speed_control.set_speed(3000)
    window.set_speed(3000)
    window.play()
    deadline = time.monotonic() + 120
    while bridge.system.clock.now_ns() < target and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.002)
    window.pause()
    pump(0.5)
    bar = window.trade_bar
    bar.quantity_box.setValue(50)
    bar.stop_loss_box.setValue(1.5)
    bar.take_profit_box.setValue(3.0)
    window.hand_trading.market(+1, "BOLT")
    pump(0.3)
    bridge.system.step(1)
    pump(0.5)
    last = bridge.position_of("BOLT")[2]
    chart = panel.chart
    menu = chart.context_menu(ChartPoint(int(chart.bar_arrays()[0][-1]), round(last - 1.0, 2)))
    trade = next(a.menu() for a in menu.actions() if a.menu() is not None and a.text().startswith("Trade"))
    next(a for a in trade.actions() if a.text().startswith("Buy limit")).trigger()
    bar.stop_loss_box.setValue(0)
    bar.take_profit_box.setValue(0)
    window.hand_trading.place("BOLT", -1, "stop", round(last - 2.2, 2))
    pump(0.5)
    chart.set_visible_range(chart.bar_count - 75, chart.bar_count + 3)
    window.orders_dock.show()
    window.orders_dock.raise_()
    window.refresh_views()
    pump(0.3)
    window.refresh_views()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(f"screenshot: {out} at {pd.Timestamp(bridge.system.clock.now_ns(), tz='UTC').tz_convert(cfg.timezone)}; "
          f"lines: {chart.order_lines.labels()}")
    system = bridge.system
    bridge.stop()
    system.wait(5.0)
    bridge.wait_writers(5.0)
    window.close()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
