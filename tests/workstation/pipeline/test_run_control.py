"""Run control at paced speeds: a step is delivered at once at any speed, a pause while the
coordinator waits for the next bar time takes effect at once, and a resume restarts pacing from the
moment of the resume (no burst of "owed" bar times). Bounds are relative to the paced bar duration."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.runhelpers import crossover_config
from workstation.config import validate_config_dict
from workstation.pipeline.control import Gate, RunControl
from workstation.pipeline.coordinator import _Pacer
from workstation.store import BarStore
from workstation.system import SystemManager

MINUTE_NS = 60_000_000_000


def _wait_for(predicate, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


def _in_thread(fn):
    out: dict = {}

    def target():
        t0 = time.perf_counter()
        out["result"] = fn()
        out["elapsed"] = time.perf_counter() - t0

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, out


def test_step_while_the_pacer_waits_is_delivered_at_once():
    control = RunControl(speed_multiplier=1.0)  # one bar time per 60 s
    pacer = _Pacer(control, MINUTE_NS)
    pacer.anchor(0)
    thread, out = _in_thread(lambda: pacer.wait_until(MINUTE_NS))
    time.sleep(0.05)
    control.pause()  # paused while waiting for the bar time: waits for resume or step, not the clock
    time.sleep(0.05)
    assert thread.is_alive()
    control.step()
    thread.join(pacer.bar_seconds())
    assert out["result"] is Gate.STEP
    assert out["elapsed"] < pacer.bar_seconds() / 10


def test_gate_tells_a_step_from_a_resume():
    control = RunControl(speed_multiplier=10.0)
    assert control.gate() is Gate.RUN
    control.step(2)
    assert control.gate() is Gate.STEP and control.gate() is Gate.STEP and control.steps_owed == 0
    thread, out = _in_thread(control.gate)
    time.sleep(0.05)
    assert thread.is_alive()  # paused after the steps
    control.resume()
    thread.join(5)
    assert out["result"] is Gate.RUN
    control.stop()
    assert control.gate() is Gate.STOP and not control.gate()


def test_resume_after_a_pause_restarts_pacing_instead_of_bursting():
    control = RunControl(speed_multiplier=300.0)  # 0.2 s per bar time
    pacer = _Pacer(control, MINUTE_NS)
    bar = pacer.bar_seconds()
    pacer.anchor(0)
    assert pacer.wait_until(MINUTE_NS) is Gate.RUN
    control.pause()
    time.sleep(5 * bar)  # five bar times' worth of wall time spent paused
    control.resume()
    t0 = time.perf_counter()
    assert pacer.wait_until(2 * MINUTE_NS) is Gate.RUN
    assert time.perf_counter() - t0 >= 0.5 * bar  # paced from the resume, not caught up at once


def _system(store: BarStore, speed: float) -> SystemManager:
    syms = store.symbols("1m")
    days = store.dates("1m")
    cfg = crossover_config(syms, days[-2], days[-1])
    cfg["backtest"]["speed_multiplier"] = speed
    return SystemManager(validate_config_dict(cfg), store=store)


def test_steps_at_a_paced_speed_move_the_clock_at_once(store):
    system = _system(store, speed=1.0)  # a paced bar time takes 60 s
    open_ns = system.sessions[0].open_ns
    try:
        system.pause()
        system.start()
        assert _wait_for(lambda: system.coordinator.current_session is not None, 30)
        for k in (1, 2, 3):
            system.step()
            assert _wait_for(lambda k=k: system.clock.now_ns() == open_ns + k * MINUTE_NS, 20), k
        time.sleep(0.2)
        assert system.clock.now_ns() == open_ns + 3 * MINUTE_NS  # exactly three, then paused
        system.set_speed(0)  # nothing was owed: switching to MAX while paused delivers nothing
        time.sleep(0.2)
        assert system.clock.now_ns() == open_ns + 3 * MINUTE_NS
    finally:
        assert system.stop(2.0)


def test_pause_during_paced_play_then_steps_move_the_clock_at_once(store):
    system = _system(store, speed=50.0)  # 1.2 s per bar time
    open_ns = system.sessions[0].open_ns
    try:
        system.start()
        assert _wait_for(lambda: system.clock.now_ns() >= open_ns + MINUTE_NS, 30)
        system.pause()
        time.sleep(0.05)
        t0 = system.clock.now_ns()
        for k in (1, 2, 3):
            system.step()
            assert _wait_for(lambda k=k: system.clock.now_ns() == t0 + k * MINUTE_NS, 0.5 * 60 / 50 * 3), k
        time.sleep(1.5 * 60 / 50)  # longer than a paced bar time: still paused
        assert system.clock.now_ns() == t0 + 3 * MINUTE_NS
    finally:
        assert system.stop(2.0)


def test_a_runs_rate_leaves_out_the_time_it_stood_paused(store):
    """A replay paused for a while and then played to its end: the summary's `paused_s` is the pause
    (between what the test saw before pausing and after resuming), `bars_per_s` the bars over the time
    not paused (it was the bars over the whole time: 10,607 bars in 422 s, 418 s of it paused, read 25
    bars/s), and the report line says both; a run never paused has no paused time."""
    from workstation.report.formatting import run_time_text

    system = _system(store, speed=0.0)
    try:
        system.pause()
        system.start()
        assert _wait_for(lambda: system.coordinator.current_session is not None, 30)
        system.step(3)
        assert _wait_for(lambda: system.position == 3 and system.control.steps_owed == 0, 30)
        t0 = time.perf_counter()
        time.sleep(0.4)
        t1 = time.perf_counter()
        system.resume()
        system.wait(60)
        t2 = time.perf_counter()
        summary = system.summary()
    finally:
        assert system.stop(2.0)
    assert summary["state"] == "finished"
    assert t1 - t0 <= summary["paused_s"] <= min(t2 - t0, summary["elapsed_s"])
    running = summary["elapsed_s"] - summary["paused_s"]
    assert summary["bars_per_s"] == pytest.approx(system.bars_processed / running, rel=1e-3)   # (times to 0.1 ms)
    assert summary["bars_per_s"] > 2 * system.bars_processed / summary["elapsed_s"]
    assert run_time_text(summary) == (f"{summary['elapsed_s']:.2f} s, {summary['paused_s']:.2f} s of it paused "
                                      f"({summary['bars_per_s']:,.0f} bars/s playing)")

    plain = _system(store, speed=0.0)
    try:
        plain.start()
        plain.wait(60)
        summary = plain.summary()
    finally:
        assert plain.stop(2.0)
    assert summary["paused_s"] == 0.0
    assert summary["bars_per_s"] == pytest.approx(plain.bars_processed / summary["elapsed_s"], rel=1e-3)
    assert run_time_text(summary) == f"{summary['elapsed_s']:.2f} s ({summary['bars_per_s']:,.0f} bars/s)"
