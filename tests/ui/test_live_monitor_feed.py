"""The live monitor on an Alpaca run against the stand-in: where the keys go, a QUIET feed explained
with the symbols behind, an unknown server error code, a quarantined bar, thin symbols' "no trades"
minutes; and an offscreen screenshot of it (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pandas as pd
import pytest

from tests.workstation.live.alpaca_standin import AlpacaStandIn, StandInMarket
from tests.workstation.live.market_data import session_bars, stream_messages
from ui.windows.live_monitor import LiveMonitorWindow
from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.live import AlpacaProvider
from workstation.live.replay import ReplayClock
from workstation.live.system import LiveSystemManager
from workstation.store import BarStore

DAY = "2024-01-03"
KEY, SECRET = "PKUI7Q2W9XZ4LM3N8VB6", "uiGk2Lq9Zx4Vb8Nm3Pw6Rt1Ys5Ud0Fa2Jc7Ke9Qs"
SHOTS = Path(os.environ.get("LIVE_MONITOR_SHOTS", "")) if os.environ.get("LIVE_MONITOR_SHOTS") else None


def _ns(local: str) -> int:
    return int(pd.Timestamp(f"{DAY} {local}", tz="America/New_York").tz_convert("UTC").value)


@pytest.fixture
def feed_run(tmp_path, monkeypatch):
    monkeypatch.setenv("APCA_API_KEY_ID", KEY)
    monkeypatch.setenv("APCA_API_SECRET_KEY", SECRET)
    frame = session_bars(DAY, {"AAA": 1.0, "BBB": 1.0, "THIN": 0.25}, seed=4)
    store = BarStore(tmp_path / "store", create=True)
    store.write_bars(frame, "1m")
    standin = AlpacaStandIn(KEY, SECRET).start()
    clock = ReplayClock(_ns("15:44"), 120.0)
    standin.clock = clock
    cfg = validate_config_dict({
        "name": "monitor feed", "mode": "live", "symbols": ["AAA", "BBB", "THIN"],
        "streams": {"interval": "1m", "derived": ["5m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 2, "retry_interval_seconds": 0.3},
        "backtest": {"start_date": DAY, "end_date": DAY},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0},
        "live": {"provider": "alpaca", "grace_seconds": 30, "batch_quiet_ms": 40},
    })
    provider = AlpacaProvider(ws_url=standin.ws_url, rest_url=standin.rest_url, clock=clock, initial_backoff_s=0.05,
                              max_backoff_s=0.3, jitter=0.0, quiet_after_s=90.0)
    system = LiveSystemManager(cfg, store=store, time_manager=TimeManager(), provider=provider, clock=clock)
    # the market stops trading at 15:49: the feed goes quiet while the session is still open
    bars = [m for m in stream_messages(frame) if m["t"] < "2024-01-03T20:49"]
    market = StandInMarket(standin, bars, clock, start_ns=_ns("15:44"))
    yield system, standin, market
    market.stop()
    system.stop(2.0)
    standin.stop()


def test_monitor_shows_keys_quiet_feed_unknown_codes_quarantine_and_no_trades(qtbot, ui_themed, feed_run, tmp_path):
    system, standin, market = feed_run
    window = LiveMonitorWindow(system, refresh_ms=50, owns_system=True)
    qtbot.addWidget(window)
    window.resize(1500, 950)
    window.show()
    window.start()
    market.start()
    qtbot.waitUntil(lambda: window.header_pill.state == "STREAMING", timeout=15_000)
    assert window.keys_label.text() == (f"keys go to 127.0.0.1:{standin.port} (stream) · "
                                        f"127.0.0.1:{standin.rest_url.rsplit(':', 1)[1]} (history)")
    standin.send_error(499, "new server condition", close=False)
    standin.push([{"T": "b", "S": "AAA", "o": 50, "h": 51, "l": 49, "c": 50, "v": 10, "t": "9999-12-31T23:59:00Z"}])
    qtbot.waitUntil(lambda: window.header_pill.state == "QUIET", timeout=30_000)
    # AAA and BBB count as behind once their last bar is two minutes older than the clock
    qtbot.waitUntil(lambda: len(window.notice_bar.texts()) == 3 and window.problems_panel.bar_model.rowCount() == 1
                    and "AAA, BBB, THIN" in window.notice_bar.texts()[0], timeout=15_000)

    quiet, unknown, bad = window.notice_bar.texts()
    assert quiet.startswith("Feed quiet: no data for") and "(expected within 90 s); the connection is kept" in quiet
    assert "No recent bar from AAA, BBB, THIN" in quiet
    assert unknown.startswith("Server sent 1 message with an unknown error code, last 499 "
                              "\u201cnew server condition\u201d")
    assert bad == "1 bad bar quarantined (not ended on the live clock 1); never stored (see Feed problems)."
    assert window.notice_bar.isVisible()
    errors = window.problems_panel.error_model.records()
    assert [(e["code"], e["known"], e["action"]) for e in errors] == [(499, False, "report")]
    assert window.problems_panel.bar_model.record(0)["timestamp"] == 253402300740 * 10**9
    assert window.tabs.tabText(4) == "Feed problems · 2"
    thin = next(r for r in window.symbol_model.records() if r["symbol"] == "THIN")
    assert thin["no_trade_minutes"] > 0
    assert any(g["status"] == "no_trades" for g in window._status["gaps"])
    assert "server errors 1 (1 unknown)" in window.provider_stats_label.text()

    shot = (SHOTS or tmp_path) / "live_monitor_feed.png"
    assert window.grab().save(str(shot))
    window.tabs.setCurrentIndex(4)
    qtbot.wait(100)
    assert window.grab().save(str(shot.with_name("live_monitor_feed_problems.png")))
    window.tabs.setCurrentIndex(1)
    qtbot.wait(100)
    assert window.grab().save(str(shot.with_name("live_monitor_feed_gaps.png")))
    window.close()
