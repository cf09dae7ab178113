"""A pause that lands while a session ends stops the replay there: the next session is not loaded and
the clock stays at the close until Step or Play (before, the coordinator went on into the next session
and the clock jumped to its open after the pause: a pause at MAX took the whole session change)."""

from __future__ import annotations

import time

import pytest

from tests.integration.runhelpers import crossover_config
from tests.workstation.pipeline.test_run_control import _wait_for
from workstation.config import validate_config_dict
from workstation.system import SystemManager

MINUTE_NS = 60_000_000_000


@pytest.mark.parametrize("stage_threads", [True, False])
def test_a_pause_at_a_sessions_end_holds_before_the_next_session(store, stage_threads):
    days = store.dates("1m")
    cfg = crossover_config(store.symbols("1m"), days[-2], days[-1])
    cfg["backtest"]["speed_multiplier"] = 0
    cfg["backtest"]["stage_threads"] = stage_threads
    system = SystemManager(validate_config_dict(cfg), store=store)
    first, second = system.sessions
    starts: list[int] = []
    system.events.subscribe("session_start", lambda _k, p: starts.append(p["index"]))
    # the pause arrives while the first session ends (in the coordinator's thread, as a click can)
    system.events.subscribe("session_end", lambda _k, p: p["index"] == 0 and system.pause())
    try:
        system.start()
        assert _wait_for(lambda: system.sessions_done == 1, 30)
        time.sleep(0.3)  # the old coordinator went on into the next session at once
        assert system.clock.now_ns() == first.close_ns
        assert starts == [0]
        system.step()  # one bar time: the next session's first
        assert _wait_for(lambda: system.clock.now_ns() == second.open_ns + MINUTE_NS, 20)
        time.sleep(0.2)
        assert system.clock.now_ns() == second.open_ns + MINUTE_NS  # then paused again
        assert starts == [0, 1]
        system.resume()
        assert _wait_for(lambda: system.state == "finished", 30), system.state
        assert system.sessions_done == 2
    finally:
        assert system.stop(2.0)
