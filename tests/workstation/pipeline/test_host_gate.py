"""HostGate: a host (the window) closes it for a frame and the engine waits between two bar times until
it is opened; a gate never opened opens itself after `max_wait_s`, so a host's mistake costs one wait,
not the run. Results do not depend on the waits."""

from __future__ import annotations

import time

import pytest

from tests.integration.runhelpers import crossover_config
from tests.workstation.pipeline.test_run_control import _wait_for
from workstation.config import validate_config_dict
from workstation.pipeline.control import HostGate
from workstation.store import BarStore
from workstation.system import SystemManager

MINUTE_NS = 60_000_000_000


def _system(store: BarStore, gate: HostGate | None, stage_threads: bool) -> SystemManager:
    days = store.dates("1m")
    cfg = crossover_config(store.symbols("1m"), days[-1], days[-1])
    cfg["backtest"]["speed_multiplier"] = 0
    cfg["backtest"]["stage_threads"] = stage_threads
    return SystemManager(validate_config_dict(cfg), store=store, host_gate=gate)


@pytest.mark.parametrize("stage_threads", [True, False])
def test_a_closed_gate_holds_the_engine_after_its_bar_time_until_opened(store, stage_threads):
    gate = HostGate(max_wait_s=30.0)
    system = _system(store, gate, stage_threads)
    session = system.sessions[0]
    gate.close()
    try:
        system.start()
        assert _wait_for(lambda: system.position == 1, 20)
        time.sleep(0.3)                                   # the engine waits after its first bar time
        assert system.position == 1 and system.clock.now_ns() == session.open_ns + MINUTE_NS
        assert gate.closed
        gate.open()
        assert _wait_for(lambda: system.state == "finished", 30), system.state
        assert gate.waits == 1 and 0.25 < gate.waited_s < 30
    finally:
        assert system.stop(2.0)
    reference = _system(store, None, stage_threads)     # the same run without a gate: the same trades
    reference.start()
    assert reference.wait(30)
    assert [(t.entry_time, t.exit_time, t.pnl) for t in system.broker.trades] == \
        [(t.entry_time, t.exit_time, t.pnl) for t in reference.broker.trades]
    assert reference.bars_processed == system.bars_processed > 0


def test_a_gate_never_opened_opens_itself_after_its_longest_wait(store):
    gate = HostGate(max_wait_s=0.2)
    system = _system(store, gate, False)
    gate.close()
    t0 = time.perf_counter()
    system.start()
    assert system.wait(30) and system.state == "finished"
    assert gate.waits == 1 and not gate.closed                      # one wait, then open for good
    assert 0.19 < gate.waited_s < time.perf_counter() - t0
