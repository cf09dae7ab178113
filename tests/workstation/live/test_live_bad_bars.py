"""Bad live bars (issue: a bar stamped 9999-12-31 crashed the run; a 15:59 bar at 10:00 made every
later bar late): each is quarantined with the importer's reason, counted in live_status, never
stored, and the run's bars and decisions stay exactly those of a backtest of the same data."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from market_data import session_bars

from workstation.calendar import TimeManager
from workstation.config import validate_config_dict
from workstation.live.alpaca import parse_rfc3339_ns
from workstation.live.bar_checks import R_FUTURE, R_INTERVAL, R_STALE, R_SYMBOL, LiveBarChecks
from workstation.live.replay import ReplayClock, ReplayProvider
from workstation.live.runner import write_live_files
from workstation.live.system import LiveSystemManager
from workstation.model import Bar
from workstation.store import BarStore
from workstation.store.importer import R_CLOSE, R_GRID, R_HL, R_MISSING, R_NEGVOL, R_NONPOS, R_OPEN
from workstation.system import SystemManager

DAY = "2024-01-03"
MINUTE = 60_000_000_000
SYMBOLS = {"AAA": 1.0, "BBB": 1.0, "CCC": 1.0, "DDD": 0.5}


def _ns(local: str) -> int:
    return int(pd.Timestamp(f"{DAY} {local}", tz="America/New_York").tz_convert("UTC").value)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    s = BarStore(tmp_path_factory.mktemp("bad_bars") / "store", create=True)
    s.write_bars(session_bars(DAY, SYMBOLS, seed=5), "1m")
    return s


def _cfg(mode: str):
    return validate_config_dict({
        "name": f"bad bars {mode}", "mode": mode, "symbols": sorted(SYMBOLS),
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 0.2},
        "backtest": {"start_date": DAY, "end_date": DAY},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 3, "slow": 8}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        # generous windows in market time: a busy machine must not make good bars late
        "live": {"provider": "replay", "replay": {"speed": 300.0}, "grace_seconds": 20, "batch_quiet_ms": 20},
    })


def _collect(system) -> dict:
    out: dict = {"bars": [], "decisions": []}

    def on_end(_kind, _payload) -> None:
        sd = system.session_data
        for iv in sd.intervals:
            for sym in sd.symbols:
                b = sd.bars(sym, iv)
                out["bars"] += [(sym, iv, int(t), float(o), float(h), float(lo), float(c), float(v))
                                for t, o, h, lo, c, v in zip(b.timestamp, b.open, b.high, b.low, b.close, b.volume,
                                                             strict=True)]

    system.events.subscribe("session_end", on_end)
    system.events.subscribe("decision", lambda _k, d: out["decisions"].append(
        (d.signal.metadata["bar_start"], d.signal.symbol, d.signal.action.value, d.approved)))
    system.start()
    assert system.wait(120)
    assert system.error is None, system.error
    return out


class BadBarsReplay(ReplayProvider):
    """Replays the store and, just before the first bar of `inject_at`, delivers `bad` bars."""

    def __init__(self, *args, inject_at: int, bad: list[Bar], **kwargs):
        super().__init__(*args, **kwargs)
        self.inject_at, self.bad, self.injected = inject_at, bad, False

    def _deliver_bar(self, bar: Bar, receive_ns: int) -> bool:
        if not self.injected and bar.timestamp >= self.inject_at:
            self.injected = True
            for bad in self.bad:
                super()._deliver_bar(bad, receive_ns)
        return super()._deliver_bar(bar, receive_ns)


def test_bad_live_bars_are_quarantined_and_the_run_equals_the_backtest(store, tmp_path):
    backtest = _collect(SystemManager(_cfg("backtest"), store=store))
    t = _ns("15:50")
    bad = [
        Bar("AAA", "1m", parse_rfc3339_ns("9999-12-31T23:59:00Z"), 50, 51, 49, 50, 100),  # crashed the run
        Bar("AAA", "1m", _ns("15:59"), 50, 51, 49, 50, 100),                              # silenced strategies
        Bar("BBB", "1m", t, 60, 59, 61, 60, 100),                                         # high < low
        Bar("CCC", "1m", t, 70, 71, 69, math.nan, 100),
        Bar("DDD", "1m", t, 80, 81, 79, 80, math.inf),
        Bar("DDD", "1m", t, 0.0, 81, 79, 80, 100),
        Bar("AAA", "1m", t, 50, 51, 49, 50, -5),
        Bar("BBB", "1m", t + 30_000_000_000, 60, 61, 59, 60, 100),                        # off the grid
        Bar("CCC", "1m", parse_rfc3339_ns("0001-01-01T00:00:00Z"), 70, 71, 69, 70, 100),
        Bar("ZZZ", "1m", t, 10, 11, 9, 10, 100),
        Bar("AAA", "1m", t, 52, 51, 49, 50, 100),                                         # open > high
        Bar("BBB", "1m", t, 60, 61, 59, 58, 100),                                         # close < low
        Bar("CCC", "1d", t, 70, 71, 69, 70, 100),
    ]
    tm = TimeManager()
    clock = ReplayClock(_ns("15:40"), 300.0)
    provider = BadBarsReplay(store, tm, clock, inject_at=t, bad=bad, end_date=pd.Timestamp(DAY).date())
    system = LiveSystemManager(_cfg("live"), store=store, time_manager=tm, provider=provider, clock=clock)
    live = _collect(system)

    c = system.feed
    assert provider.injected
    assert c.bar_checks.quarantined == len(bad)
    assert c.bar_checks.by_reason == {
        R_FUTURE: 2, R_HL: 1, R_MISSING: 2, R_NONPOS: 1, R_NEGVOL: 1, R_GRID: 1, R_STALE: 1, R_SYMBOL: 1,
        R_OPEN: 1, R_CLOSE: 1, R_INTERVAL: 1}
    assert c.late_bars == 0 and c.duplicate_bars == 0
    frame = lambda rows: sorted(rows)  # noqa: E731
    assert frame(live["bars"]) == frame(backtest["bars"])
    assert live["decisions"] == backtest["decisions"] and len(live["decisions"]) >= 20
    summary = system.summary()
    assert summary["bars_quarantined"] == len(bad)

    write_live_files(system, tmp_path)
    status = json.loads((tmp_path / "live_status.json").read_text())
    recent = status["quarantine"]["recent"]
    assert status["quarantine"]["quarantined"] == len(bad) and len(recent) == len(bad)
    assert recent[0]["timestamp"] == bad[0].timestamp and recent[0]["reason"] == R_FUTURE
    assert {r["close"] for r in recent if r["reason"] == R_MISSING} >= {"nan"}


def test_live_bar_checks_one_by_one():
    checks = LiveBarChecks(["AAA"], "1m", MINUTE)
    now = _ns("10:00")
    good = Bar("AAA", "1m", now - MINUTE, 10, 11, 9, 10.5, 0)
    assert checks.reason(good, now) is None
    assert checks.reason(good._replace(timestamp=now - 5_000_000_000 - MINUTE + 1), now) == R_GRID
    # the minute that is ending right now is allowed up to the clock-skew tolerance, not beyond
    assert checks.reason(good._replace(timestamp=now - MINUTE + 5 * MINUTE // 60), now) == R_GRID
    assert checks.reason(good._replace(timestamp=now), now + 55_000_000_000) is None
    assert checks.reason(good._replace(timestamp=now), now + 54_000_000_000) == R_FUTURE
    assert checks.reason(good._replace(high=9.5, low=9.6, open=9.55, close=9.55), now) == R_HL
    assert checks.reason(good._replace(volume=math.nan), now) == R_MISSING
    assert checks.reason(good._replace(open=-1), now) == R_NONPOS
    session = TimeManager().session(pd.Timestamp(DAY).date())
    assert checks.admit(good, now, session)
    assert not checks.admit(good._replace(timestamp=session.open_ns - MINUTE), now, session)   # pre-market
    assert checks.outside_session == 1 and checks.quarantined == 0
