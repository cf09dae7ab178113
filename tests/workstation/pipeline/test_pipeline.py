"""The Pipeline on its own, driven through its interface as the coordinator drives it: threaded and
single-thread runs give identical bars, indicators, decisions and equity (and derived bars equal to
pandas resampling); a stage failure fails the bar time with the stage named; a paced bar time that
takes longer than its slot counts an overrun for the slow stage (and none when it does not); stages
never reference one another (source and built objects)."""

from __future__ import annotations

import ast
import hashlib
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.integration.runhelpers import crossover_config
from tests.workstation.pipeline.stage_harness import MINUTE, metrics, minutes, session
from workstation.calendar import SimulatedClock
from workstation.config import validate_config_dict
from workstation.events import EventBus
from workstation.execution import SimulatedBroker
from workstation.pipeline.pipeline import Pipeline
from workstation.pipeline.stage import Stage
from workstation.pipeline.stage_events import BarTime
from workstation.session import SessionData
from workstation.strategies import BaseStrategy, load_strategy

SYMBOLS = ["AAA", "BBB", "CCC"]
DAYS = ["2024-03-05", "2024-03-06"]
DERIVED = ["5m", "15m"]
PIPELINE_DIR = Path(__file__).resolve().parents[3] / "workstation" / "pipeline"


def _config(threaded: bool, strategies: list[dict] | None = None):
    cfg = crossover_config(SYMBOLS, DAYS[0], DAYS[-1], derived=DERIVED, indicators=["rsi(3)"])
    cfg["strategies"] = strategies or [
        {"name": "fast_1m", "class_path": "sma_crossover", "params": {"fast": 2, "slow": 5, "quantity": 10}},
        {"name": "fast_5m", "class_path": "sma_crossover", "interval": "5m",
         "params": {"fast": 2, "slow": 3, "quantity": 5}},
    ]
    cfg["backtest"]["stage_threads"] = threaded
    return validate_config_dict(cfg)


# minutes no symbol trades (local, [from, to)): the forming 5m/15m bar's end passes without a bar,
# and the bar time after completes it together with the next bar (two bars of one interval at once)
HALTS = [("10:04", "10:09"), ("10:44", "10:59"), ("13:19", "13:24")]


def _bars(day: str, seed: int) -> pd.DataFrame:
    """A random walk per symbol on a cent grid, a quarter of the minutes missing and a few minutes
    without any bar (HALTS)."""
    rng = np.random.default_rng(seed)
    frames = []
    sess = session(day)
    for k, sym in enumerate(SYMBOLS):
        ts = np.array(minutes(sess, skip=HALTS))
        ts = ts[rng.random(len(ts)) < 0.75]
        close = np.round(20 + 5 * k + np.cumsum(rng.normal(0, 0.05, len(ts))), 2)
        frames.append(pd.DataFrame({"symbol": sym, "timestamp": ts, "open": np.round(close - 0.01, 2),
                                    "high": close + 0.02, "low": close - 0.03, "close": close,
                                    "volume": rng.integers(1, 500, len(ts)).astype(float)}))
    return pd.concat(frames).sort_values(["timestamp", "symbol"]).reset_index(drop=True)


class _Run:
    """One pipeline built from a config, with what a coordinator would own around it."""

    def __init__(self, cfg, strategies=None):
        self.sessions = [session(d) for d in DAYS]
        self.sd = SessionData(SYMBOLS, ["1m", *DERIVED])
        self.clock = SimulatedClock(self.sessions[0].open_ns)
        self.broker = SimulatedBroker(SYMBOLS, cfg.execution)
        self.metrics = metrics()
        self.events = EventBus()
        self.decisions: list[tuple] = []
        self.events.subscribe("decision", lambda _k, d: self.decisions.append(
            (d.signal.time, d.signal.symbol, d.signal.action.value, d.signal.quantity, d.approved)))
        self.strategies = strategies or [load_strategy(cfg, st, i) for i, st in enumerate(cfg.strategies)]
        self.pipeline = Pipeline.build(cfg, self.sd, self.clock, self.strategies, self.broker, self.metrics,
                                       self.events)

    def bar_time(self, ts: int, g: pd.DataFrame, timeout: float | None = None) -> None:
        idx = np.array([SYMBOLS.index(s) for s in g["symbol"]], dtype=np.int64)
        cols = [g[c].to_numpy(dtype=float) for c in ("open", "high", "low", "close", "volume")]
        self.clock.advance_to(ts + MINUTE)
        self.sd.append_bars("1m", idx, ts, *cols)
        self.pipeline.bar_time(BarTime(ts, idx, *cols), timeout)


class _Watcher(BaseStrategy):
    """Records what it reads at each of its bars: the bar, the newest close and sma(3) of its interval."""

    def __init__(self, name, symbols, interval, **params):
        super().__init__(name, symbols, interval, **params)
        self.seen: list[tuple] = []

    def required_indicators(self):
        return ("sma(3)",)

    def on_bars(self, ctx, sym_idx):
        sma = ctx.indicator_bank(self.interval, "sma(3)").value
        closes, starts = ctx.closes(self.interval), ctx.bar_starts(self.interval)
        for i in sym_idx.tolist():
            value = float(sma[i])
            self.seen.append((ctx.symbols[i], int(starts[i]), float(closes[i]), None if value != value else value))
        return None


def _drive(threaded: bool) -> dict:
    cfg = _config(threaded)
    watchers = [_Watcher(f"watch_{iv}", SYMBOLS, iv) for iv in DERIVED]
    run = _Run(cfg, strategies=[*(load_strategy(cfg, st, i) for i, st in enumerate(cfg.strategies)), *watchers])
    pipeline, sd = run.pipeline, run.sd
    digest = hashlib.sha256()
    equity = []
    derived = []
    quality = []
    pipeline.start()
    try:
        pipeline.start_strategies()
        for k, sess in enumerate(run.sessions):
            sd.clear_session()
            run.clock.advance_to(sess.open_ns)
            pipeline.session_start(sess)
            for ts, g in _bars(DAYS[k], seed=11 + k).groupby("timestamp", sort=True):
                run.bar_time(int(ts), g)
                for interval, spec in sd.indicators.specs():
                    for name, values in sorted(sd.indicators.get(interval, spec).outputs().items()):
                        digest.update(f"{interval}:{spec}:{name}".encode())
                        digest.update(np.ascontiguousarray(values).tobytes())
                for interval in sd.intervals:
                    digest.update(sd.last_close[interval].tobytes() + sd.last_start[interval].tobytes())
                equity.append(run.broker.account_snapshot().equity)
            run.clock.advance_to(sess.close_ns)
            report = pipeline.session_end(sess)
            quality.append((report.rows, [dict(r) for r in report.gap_rows]))
            for interval in DERIVED:
                for sym in SYMBOLS:
                    b = sd.bars(sym, interval)
                    derived.append(pd.DataFrame({
                        "symbol": sym, "interval": interval, "timestamp": np.array(b.timestamp),
                        **{c: np.array(getattr(b, c)) for c in ("open", "high", "low", "close", "volume")}}))
    finally:
        pipeline.stop()
        pipeline.join(5.0)
    assert pipeline.alive_threads() == []
    pipeline.raise_errors()
    return {"digest": digest.hexdigest(), "decisions": run.decisions, "equity": equity,
            "fills": [(f.symbol, f.time, f.price, f.quantity) for f in run.broker.fills],
            "derived": pd.concat(derived, ignore_index=True), "quality": quality,
            "events": run.metrics.stat("processor.event").count,
            "seen": {w.interval: w.seen for w in watchers}}


def _resample(day: str, seed: int, interval: str) -> pd.DataFrame:
    """pandas: the session's 1m bars resampled from the open (closed left, labelled by start)."""
    bars = _bars(day, seed)
    sess = session(day)
    out = []
    for sym, g in bars.groupby("symbol"):
        g = g.set_index(pd.to_datetime(g["timestamp"], utc=True))
        r = g.resample(interval.replace("m", "min"), origin=pd.Timestamp(sess.open_ns, tz="UTC"), closed="left",
                       label="left").agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                          "volume": "sum"}).dropna(subset=["open"])
        r = r.reset_index(names="time")
        r.insert(0, "symbol", sym)
        r.insert(1, "interval", interval)
        r.insert(2, "timestamp", r.pop("time").astype("int64"))
        out.append(r)
    return pd.concat(out, ignore_index=True)


def test_threaded_and_single_thread_runs_are_identical_through_one_interface():
    threaded, single = _drive(True), _drive(False)
    assert len(threaded["decisions"]) >= 20 and len(threaded["fills"]) >= 10      # the strategies traded
    assert threaded["digest"] == single["digest"]          # every indicator and newest close, every bar time
    assert threaded["decisions"] == single["decisions"]
    assert threaded["equity"] == single["equity"] and len(set(threaded["equity"])) > 10
    assert threaded["fills"] == single["fills"]
    assert threaded["quality"] == single["quality"]
    pd.testing.assert_frame_equal(threaded["derived"], single["derived"])
    assert threaded["events"] == single["events"]
    assert threaded["seen"] == single["seen"]
    # and the derived bars are pandas' resampling of the streamed bars
    expected = pd.concat([_resample(day, 11 + k, iv) for iv in DERIVED for k, day in enumerate(DAYS)])
    ours = threaded["derived"].sort_values(["interval", "symbol", "timestamp"]).reset_index(drop=True)
    expected = expected.sort_values(["interval", "symbol", "timestamp"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ours, expected, check_dtype=False)
    # each derived bar reached its strategy once, in order, with the indicators holding exactly the
    # bars up to it (SMA(3) of the derived closes, continuous across the two sessions)
    for interval in DERIVED:
        exp = expected[expected["interval"] == interval]
        for sym in SYMBOLS:
            bars = exp[exp["symbol"] == sym].sort_values("timestamp")
            got = [(t, c, v) for s, t, c, v in threaded["seen"][interval] if s == sym]
            assert [t for t, _, _ in got] == bars["timestamp"].tolist()
            assert [c for _, c, _ in got] == bars["close"].tolist()
            np.testing.assert_allclose([np.nan if v is None else v for _, _, v in got],
                                       bars["close"].rolling(3).mean(), rtol=0, atol=1e-9, equal_nan=True)


class _Boom(BaseStrategy):
    """Slow or failing on demand (for the failure and overrun tests)."""

    def __init__(self, name, symbols, interval, sleep_s: float = 0.0, **params):
        super().__init__(name, symbols, interval, **params)
        self.sleep_s = sleep_s

    def on_bars(self, ctx, sym_idx):
        if self.sleep_s:
            time.sleep(self.sleep_s)
        return None


def _first_bar_times(run: _Run, n: int):
    sess = run.sessions[0]
    run.sd.clear_session()
    run.pipeline.session_start(sess)
    return list(_bars(DAYS[0], seed=11).groupby("timestamp", sort=True))[:n]


@pytest.mark.parametrize("threaded", [True, False])
def test_a_stage_failure_fails_the_bar_time_naming_the_stage_and_nothing_hangs(threaded, monkeypatch):
    run = _Run(_config(threaded))
    calls = {"n": 0}
    update = type(run.sd.indicators).update

    def failing_update(self, interval, idx, columns, observe=True, every_lane=False):
        calls["n"] += 1
        if calls["n"] == 4:
            raise ValueError("bad column")
        update(self, interval, idx, columns, observe, every_lane)

    monkeypatch.setattr(type(run.sd.indicators), "update", failing_update)
    run.pipeline.start()
    try:
        times = _first_bar_times(run, 6)
        run.bar_time(int(times[0][0]), times[0][1])
        run.bar_time(int(times[1][0]), times[1][1])
        assert run.pipeline.error is None
        with pytest.raises(RuntimeError, match=r"DataProcessor failed: ValueError\('bad column'\)") as failed:
            for ts, g in times[2:]:
                run.bar_time(int(ts), g)
        assert isinstance(failed.value.__cause__, ValueError)
        assert isinstance(run.pipeline.error, ValueError)
        with pytest.raises(RuntimeError, match="DataProcessor failed"):
            run.pipeline.raise_errors()
    finally:
        run.pipeline.stop()
        run.pipeline.join(5.0)
    assert run.pipeline.alive_threads() == []


@pytest.mark.parametrize("threaded", [True, False])
def test_a_failing_stage_fails_the_whole_run(threaded, tmp_path):
    """Through the SystemManager: the run ends "failed" with the stage's error, its threads gone."""
    from workstation.store import generate_demo
    from workstation.system import SystemManager

    generate_demo(tmp_path / "store", symbols=2, seed=3, days=2)
    cfg = crossover_config(["ACME", "BOLT"], "2024-12-05", "2024-12-06", derived=["5m"])
    cfg["backtest"]["stage_threads"] = threaded
    cfg["streams"]["indicators"] = ["sma(3)"]
    system = SystemManager(validate_config_dict(cfg), store_path=tmp_path / "store")
    bank = system.session_data.indicators.get("5m", "sma(3)")

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("broken 5m bank")

    bank.update = broken
    system.start()
    assert system.wait(60)
    assert system.state == "failed"
    assert isinstance(system.error, RuntimeError) and "DataProcessor failed" in str(system.error)
    assert isinstance(system.error.__cause__, ZeroDivisionError)
    assert system.summary()["error"].startswith("RuntimeError: DataProcessor failed")
    assert system.stop(2.0) and system.alive_threads() == []


def test_a_run_of_no_strategy_keeps_no_stream_indicators_and_the_same_bars(tmp_path):
    """streams.indicators are read only by strategies (ctx.indicator): a run with none keeps none and
    warms none up (about half a bar time's work at one symbol), a run with one keeps every one on every
    interval; the planner's warm-up counts say the same; the bars and quality of both runs are equal."""
    from workstation.pipeline.warmup import config_warmup_counts
    from workstation.store import generate_demo
    from workstation.system import SystemManager

    generate_demo(tmp_path / "store", symbols=2, seed=3, days=3)
    runs = {}
    for name in ("none", "one"):
        cfg = crossover_config(["ACME", "BOLT"], "2024-12-05", "2024-12-06", derived=["5m", "15m"],
                               indicators=["sma(20)", "rsi(14)"])
        cfg["historical"]["warmup_bars"] = 50
        if name == "none":
            cfg["strategies"] = []
        cfg = validate_config_dict(cfg)
        system = SystemManager(cfg, store_path=tmp_path / "store")
        kept = sorted(system.session_data.indicators.specs())
        counts = config_warmup_counts(cfg)
        system.start()
        assert system.wait(60) and system.error is None
        runs[name] = (kept, counts, system)
    kept, counts, none = runs["none"]
    assert kept == [] and set(counts.values()) == {0}
    kept, counts, one = runs["one"]
    assert {("1m", "sma(20)"), ("5m", "rsi(14)"), ("15m", "sma(20)")} <= set(kept)
    assert counts["1m"] > 0
    for interval in ("1m", "5m", "15m"):
        for symbol in ("ACME", "BOLT"):
            a, b = (run.session_data.bars(symbol, interval) for run in (none, one))
            assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), (symbol, interval)
    assert none.quality.stats() == one.quality.stats()
    warmups = [run.metrics.snapshot()["run"]["stats"].get("historical.warmup", {}).get("count", 0) for run in (none, one)]
    assert warmups == [0, 1]                    # no warm-up read for the run of no strategy


@pytest.mark.parametrize("threaded", [True, False])
def test_a_paced_bar_time_slower_than_its_slot_counts_an_overrun_for_the_slow_stage(threaded):
    cfg = _config(threaded, [{"name": "slow", "class_path": "sma_crossover", "params": {"fast": 2, "slow": 5}}])
    slow = _Boom("slow", SYMBOLS, "1m", sleep_s=0.3)
    run = _Run(cfg, strategies=[slow])
    run.pipeline.start()
    try:
        times = _first_bar_times(run, 6)
        for ts, g in times[:3]:
            # 50 ms slots (the other stages' ~0.1 ms of work fits even on a loaded machine), 300 ms of analysis
            run.bar_time(int(ts), g, timeout=0.05)
        for ts, g in times[3:]:
            run.bar_time(int(ts), g, timeout=None)       # data-driven: never an overrun
        slow.sleep_s = 0.0
        run.bar_time(int(times[-1][0]) + MINUTE, times[-1][1], timeout=600.0)   # within its slot
    finally:
        run.pipeline.stop()
        run.pipeline.join(5.0)
    counters = {name: run.metrics.counter(f"overruns.{name}") for name in ("quality", "processor", "analysis")}
    assert counters == {"quality": 0, "processor": 0, "analysis": 3}
    assert run.metrics.stat("analysis.event").count >= 7        # every bar time was still done


# ---------------------------------------------------------------------- isolation
STAGE_MODULES = {"processor.py": "DataProcessor", "quality.py": "DataQualityManager", "analysis.py": "AnalysisEngine"}
OTHER_MODULES = ("workstation.pipeline.pipeline", "workstation.pipeline.coordinator", "workstation.system")


@pytest.mark.parametrize("module", sorted(STAGE_MODULES))
def test_no_stage_module_imports_or_names_another_stage(module):
    tree = ast.parse((PIPELINE_DIR / module).read_text())
    others = {f"workstation.pipeline.{m[:-3]}" for m in STAGE_MODULES if m != module}
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
    assert not imported & (others | set(OTHER_MODULES)), imported & (others | set(OTHER_MODULES))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    foreign = {cls for m, cls in STAGE_MODULES.items() if m != module} | \
        {"processor", "analysis", "quality", "next_stage", "connect_analysis", "cycle", "inline"}
    assert not names & foreign, names & foreign


@pytest.mark.parametrize("threaded", [True, False])
def test_built_stages_hold_no_other_stage_only_the_output_the_pipeline_gave_them(threaded):
    run = _Run(_config(threaded))
    stages = (run.pipeline.quality, run.pipeline.processor, run.pipeline.analysis)

    def stages_in(value, depth=0):
        if isinstance(value, Stage):
            yield value
        elif isinstance(getattr(value, "__self__", None), Stage):     # a bound method of a stage
            yield value.__self__
        elif depth < 2 and isinstance(value, dict):
            for v in value.values():
                yield from stages_in(v, depth + 1)
        elif depth < 2 and isinstance(value, list | tuple | set):
            for v in value:
                yield from stages_in(v, depth + 1)

    for stage in stages:
        held = [(name, type(s).__name__) for name, v in vars(stage).items() if name != "output"
                for s in stages_in(v) if s is not stage]
        assert held == [], f"{type(stage).__name__} holds {held}"
        for part in ("ctx", "desk"):                                   # the analysis engine's helpers
            if hasattr(stage, part):
                assert [type(s).__name__ for s in stages_in(vars(getattr(stage, part))) if s is not stage] == []
    # the only way out of a stage is its output: quality -> processor -> analysis -> nowhere
    assert run.pipeline.analysis.output is None
    assert run.pipeline.quality.output is not None and run.pipeline.processor.output is not None
