"""Live mode on the replay provider: gap filling from history, late bars, catch-up, retries,
equality with a backtest of the same data, and the headless live command."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.shared_data import require_shared
from workstation.config import validate_config_dict
from workstation.errors import ConfigError, ProviderError
from workstation.live.gap_filler import GapFiller
from workstation.live.system import LiveSystemManager
from workstation.pipeline.quality import Gap
from workstation.store import BarStore
from workstation.system import SystemManager

BENCH = Path(__file__).resolve().parents[3] / ".." / "shared" / "bench"
DAY = "2024-01-03"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    require_shared(BENCH / "make_bars.py", "../shared/bench")
    sys.path.insert(0, str(BENCH))
    import make_bars

    df = make_bars.make_bars(5, 2, seed=42)
    root = tmp_path_factory.mktemp("live") / "store"
    s = BarStore(root, create=True)
    s.write_bars(df, "1m")
    return s


def _cfg(store, mode: str, start: str | None = None, speed: float = 60.0, drop: float = 0.0, delay: float = 0.0,
         delay_seconds: float = 5.0, **live):
    return validate_config_dict({
        "name": f"live test {mode}", "mode": mode, "symbols": store.symbols("1m"),
        "streams": {"interval": "1m", "derived": ["5m", "15m"], "indicators": ["sma(20)"]},
        "historical": {"trailing_days": 0, "warmup_bars": 0, "indicators": []},
        "gap_filler": {"max_retries": 3, "retry_interval_seconds": 0.2},
        "backtest": {"start_date": DAY, "end_date": DAY},
        "strategies": [{"name": "sma", "class_path": "sma_crossover", "params": {"fast": 5, "slow": 20}}],
        "risk": {"min_quality_pct": 0, "min_confidence": 0, "max_position_qty": 1e12},
        "live": {"provider": "replay", "replay": {"start": start, "speed": speed, "drop_fraction": drop,
                                                    "delay_fraction": delay, "delay_seconds": delay_seconds, "seed": 11},
                 **live},
    })


def _run(system):
    out = {"bars": [], "quality": [], "decisions": []}

    def on_end(_k, payload):
        sd = system.session_data
        for iv in sd.intervals:
            for sym in sd.symbols:
                b = sd.bars(sym, iv)
                for k in range(len(b.timestamp)):
                    out["bars"].append((sym, iv, int(b.timestamp[k]), float(b.open[k]), float(b.high[k]),
                                        float(b.low[k]), float(b.close[k]), float(b.volume[k])))
        out["quality"].extend(payload["quality_rows"])

    system.events.subscribe("session_end", on_end)
    system.events.subscribe("decision", lambda _k, d: out["decisions"].append(
        (d.signal.metadata.get("bar_start"), d.signal.symbol, d.signal.action.value, d.approved)))
    system.start()
    assert system.wait(120)
    assert system.error is None, system.error
    return out


def _disturbed(system) -> set[tuple[int, str]]:
    """(bar start, symbol) of bars decided while data was missing: a dropped, delayed, late or gap bar
    and the two after it (decisions there depend on when the fill or the late bar arrived)."""
    step = 60_000_000_000
    out = set()
    marks = [(sym, ts) for sym, ts in system.provider.dropped + system.provider.delayed]
    marks += list(system.feed.late_marks)  # late for any reason, e.g. a busy machine at 900x
    for gap in system.gap_filler.gaps:
        marks += [(gap.symbol, t) for t in range(gap.start_ns, gap.end_ns + 1, step)]
    for sym, ts in marks:
        out.update({(ts, sym), (ts + step, sym), (ts + 2 * step, sym)})
    return out


def _frame(rows):
    return pd.DataFrame(rows, columns=["symbol", "interval", "ts", "o", "h", "l", "c", "v"]).sort_values(
        ["interval", "symbol", "ts"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def backtest(store):
    system = SystemManager(_cfg(store, "backtest"), store=store)
    return _run(system)


def test_replay_60x_with_dropped_bars_fills_every_gap(store, backtest):
    cfg = _cfg(store, "live", start=f"{DAY} 15:45", speed=60.0, drop=0.05)
    system = LiveSystemManager(cfg, store=store)
    live = _run(system)
    dropped = system.provider.dropped
    assert len(dropped) >= 2
    got = _frame(live["bars"])
    minute = got[got["interval"] == "1m"]
    have = set(zip(minute["symbol"], minute["ts"], strict=True))
    assert all((sym, ts) in have for sym, ts in dropped)           # every dropped bar was filled
    q = [r for r in live["quality"] if r["interval"] == "1m"]
    assert q and all(r["quality_pct"] == 100.0 and r["present"] == r["expected"] for r in q)
    s = system.summary()
    assert s["gaps_found"] >= 1 and s["gaps_failed"] == 0 and s["gaps_filled"] == s["gaps_found"]
    assert s["health"] in ("DISCONNECTED", "QUIET")
    pd.testing.assert_frame_equal(got, _frame(backtest["bars"]))    # streamed and derived bars
    disturbed = _disturbed(system)
    assert [d for d in live["decisions"] if (d[0], d[1]) not in disturbed] == \
        [d for d in backtest["decisions"] if (d[0], d[1]) not in disturbed]
    assert len(live["decisions"]) >= 50
    assert system.feed.caught_up_bars > 0
    assert not system.alive_threads()


def test_late_bars_are_placed_in_time_order(store, backtest):
    # delayed bars come 40 s (market) after their bar's end, past the 20 s grace: late bars. Grace and
    # quiet window (22 ms and 20 ms of wall time at 900x) leave a busy machine room to deliver the
    # other bars of a bar time before it is processed, so only the delayed ones are late
    cfg = _cfg(store, "live", start=f"{DAY} 15:20", speed=900.0, delay=0.05, delay_seconds=40,
               grace_seconds=20, batch_quiet_ms=20)
    system = LiveSystemManager(cfg, store=store)
    live = _run(system)
    assert len(system.provider.delayed) > 3
    assert system.feed.late_bars + system.feed.duplicate_bars >= 1
    pd.testing.assert_frame_equal(_frame(live["bars"]), _frame(backtest["bars"]))
    # a bar that arrives after its bar time was processed gets no signal (the strategies are told
    # its history changed); every decision on undisturbed bars is the backtest's
    disturbed = _disturbed(system)
    assert [d for d in live["decisions"] if (d[0], d[1]) not in disturbed] == \
        [d for d in backtest["decisions"] if (d[0], d[1]) not in disturbed]
    assert len(live["decisions"]) >= 50


def test_a_grace_longer_than_the_delays_decides_delayed_bars_in_their_own_bar_time(store, backtest):
    """Bars 5 s (market) late, grace 45 s, quiet window 500 ms: each bar time waits for its delayed
    bars, so nothing is late and every decision is the backtest's."""
    cfg = _cfg(store, "live", start=f"{DAY} 15:20", speed=300.0, delay=0.05, grace_seconds=45,
               batch_quiet_ms=500)
    system = LiveSystemManager(cfg, store=store)
    assert system.feed.grace_ns == 45 * 10**9 and system.feed.batch_quiet_ns == 500 * 10**6
    live = _run(system)
    assert len(system.provider.delayed) > 3
    assert system.feed.late_bars == 0
    pd.testing.assert_frame_equal(_frame(live["bars"]), _frame(backtest["bars"]))
    assert live["decisions"] == backtest["decisions"]  # the delayed bars' decisions included


def test_batch_quiet_window_defaults_by_provider(store):
    replay = _cfg(store, "live")
    assert replay.live.quiet_ms() == 2.0
    alpaca = replay.model_copy(update={"live": replay.live.model_copy(update={"provider": "alpaca"})})
    assert alpaca.live.quiet_ms() == 500.0
    assert _cfg(store, "live", batch_quiet_ms=40).live.quiet_ms() == 40
    with pytest.raises(ConfigError) as err:
        _cfg(store, "live", grace_seconds=-1)
    assert "live.grace_seconds" in str(err.value)


class _FailingProvider:
    def __init__(self):
        self.calls: list[float] = []

    def request_history_many(self, symbols, interval, start_ns, end_ns, timeout=10.0):
        self.calls.append(time.monotonic())
        raise ProviderError("history service down")


def test_failing_gap_is_retried_max_retries_times_then_failed():
    provider = _FailingProvider()
    delivered = []
    filler = GapFiller(provider, lambda g, b: delivered.append(b), "1m", 60_000_000_000, max_retries=3,
                       retry_interval_s=0.15)
    filler.start()
    gap = Gap("AAA", "1m", 0, 4 * 60_000_000_000, 5)
    filler.submit(gap)
    assert filler.wait_idle(5.0)
    filler.stop()
    assert gap.status == "failed" and gap.retries == 3
    assert len(provider.calls) == 1 + 3                      # the first attempt and exactly 3 retries
    spacing = np.diff(provider.calls)
    assert (spacing >= 0.14).all() and (spacing < 0.6).all()
    assert [e["attempt"] for e in filler.log] == [1, 2, 3, 4] and not delivered
    assert all(e["outcome"] == "error" for e in filler.log)


def test_headless_live_run_writes_run_folder(store, tmp_path):
    from workstation.cli import main as cli_main
    from workstation.config import save_config

    cfg = _cfg(store, "live", start=f"{DAY} 15:52", speed=600.0, drop=0.05)
    path = save_config(cfg, tmp_path / "live.json")
    out = tmp_path / "run"
    code = cli_main(["run", str(path), "--store", str(store.root), "--out", str(out), "--duration", "30s"])
    assert code == 0
    for name in ("config.json", "bars.parquet", "quality.parquet", "signals.parquet", "trades.parquet",
                 "equity.parquet", "metrics.json", "report.txt", "gap_fills.json", "live_status.json"):
        assert (out / name).exists(), name
    assert (out / "report.txt").read_text().startswith(f"Live (paper trading) report: {cfg.name}\n")
    fills = json.loads((out / "gap_fills.json").read_text())
    assert fills["gaps"] and all(g["status"] == "filled" for g in fills["gaps"])
    assert fills["attempts"][0]["outcome"] == "filled"
    status = json.loads((out / "live_status.json").read_text())
    assert [h[1] for h in status["health_history"]][:2] == ["CONNECTING", "STREAMING"]


def test_flat_by_the_close_in_a_live_session_as_in_the_backtest(store):
    """risk.flatten_before_close_minutes in a live replay: the same session-close orders and fills as the
    backtest of the day (the rule runs in the shared analysis engine, on the live session's close)."""

    def closing(system) -> tuple[list, list]:
        orders = [o for o in system.broker.orders() if o.tag == "session close"]
        ids = {o.id for o in orders}
        # submitted in the same minute (a live clock reads the wall time a moment after the bar time's end)
        return ([(o.symbol, o.quantity, o.submitted_at // 60_000_000_000, o.status.value) for o in orders],
                [(f.symbol, f.quantity, f.time, f.price) for f in system.broker.fills if f.order_id in ids])

    cfg = _cfg(store, "backtest")
    cfg.risk.flatten_before_close_minutes = 5
    backtest = SystemManager(cfg, store=store)
    backtest.start()
    assert backtest.wait(120) and backtest.error is None, backtest.error
    expected = closing(backtest)
    assert expected[0] and len(expected[1]) == len(expected[0])
    assert not backtest.broker.open_positions()
    live_cfg = _cfg(store, "live", start=f"{DAY} 15:50", speed=600.0)
    live_cfg.risk.flatten_before_close_minutes = 5
    live = LiveSystemManager(live_cfg, store=store)
    live.start()
    assert live.wait(120) and live.error is None, live.error
    assert closing(live) == expected
    assert not live.broker.open_positions()


def test_market_on_close_orders_fill_in_a_live_session_as_in_the_backtest(store):
    """A strategy's market-on-close orders sent at 15:52 in a live replay fill at the close of the 15:59
    bars, as in the backtest of the day (the analysis engine tells the broker the live session's closing
    bar time)."""
    symbols = store.symbols("1m")[:2]
    orders = [{"date": DAY, "at": "15:52", "symbol": symbols[0], "quantity": 10, "tif": "day"},
              {"date": DAY, "at": "15:52", "symbol": symbols[1], "quantity": -5, "tif": "gtc"}]

    def with_moc(cfg):
        cfg = cfg.model_dump(mode="json")
        cfg["strategies"] = [{"name": "moc", "class_path": "tests.workstation.execution.moc_strategies:SendOnClose",
                              "params": {"orders": orders}}]
        cfg["execution"]["allow_short"] = True
        return validate_config_dict(cfg)

    def fills(system) -> list[tuple]:
        return [(f.symbol, f.quantity, f.time, f.price) for f in system.broker.fills]

    backtest = SystemManager(with_moc(_cfg(store, "backtest")), store=store)
    backtest.start()
    assert backtest.wait(120) and backtest.error is None, backtest.error
    expected = fills(backtest)
    closing = int(pd.Timestamp(f"{DAY} 15:59", tz="America/New_York").value)
    assert [(s, q, t) for s, q, t, _ in expected] == [(symbols[0], 10, closing), (symbols[1], -5, closing)]
    live = LiveSystemManager(with_moc(_cfg(store, "live", start=f"{DAY} 15:50", speed=600.0)), store=store)
    live.start()
    assert live.wait(120) and live.error is None, live.error
    assert fills(live) == expected
