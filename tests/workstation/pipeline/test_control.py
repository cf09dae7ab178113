"""RunControl on its own: pause, step, resume, stop and speed as the coordinator's gate sees them,
from other threads."""

from __future__ import annotations

import threading

import pytest

from workstation.pipeline.control import Gate, RunControl

WAIT = 5.0          # generous upper bound for something that must happen (a loaded machine)
BLOCKED = 0.2       # how long something that must not happen is given to happen anyway


def _gate_in_thread(control: RunControl):
    result = {}
    done = threading.Event()

    def run():
        result["passed"] = control.gate()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    return done, result


def test_running_gate_passes_and_stop_ends_it():
    control = RunControl()
    assert control.gate() is Gate.RUN
    control.stop()
    assert control.gate() is Gate.STOP


def test_pause_blocks_until_resume():
    control = RunControl()
    control.pause()
    done, result = _gate_in_thread(control)
    assert not done.wait(BLOCKED)
    control.resume()
    assert done.wait(WAIT) and result["passed"] is Gate.RUN
    assert control.gate() is Gate.RUN                     # running again


def test_step_lets_exactly_n_bar_times_through_then_stays_paused():
    control = RunControl()
    control.step(2)
    assert control.paused
    assert control.gate() is Gate.STEP and control.gate() is Gate.STEP
    done, _ = _gate_in_thread(control)
    assert not done.wait(BLOCKED)                         # the third waits
    control.step(1)
    assert done.wait(WAIT)
    control.resume()                                      # steps owed are forgotten on resume
    assert control.gate() is Gate.RUN and not control.paused


def test_stop_releases_a_paused_gate_with_false():
    control = RunControl()
    control.pause()
    done, result = _gate_in_thread(control)
    assert not done.wait(BLOCKED)
    control.stop()
    assert done.wait(WAIT) and result["passed"] is Gate.STOP


def test_speed_changes_are_versioned_and_checked():
    control = RunControl(speed_multiplier=10)
    assert control.speed == 10.0 and control.pace_version == 0
    control.set_speed(0)
    assert control.speed == 0.0 and control.pace_version == 1
    with pytest.raises(ValueError, match="speed must be >= 0"):
        control.set_speed(-1)
    assert control.pace_version == 1


def test_sleep_wakes_on_stop_pause_or_speed_change():
    for wake in ("stop", "pause", "speed"):
        control = RunControl(speed_multiplier=1)
        out = {}
        done = threading.Event()

        def run(control=control, out=out, done=done):
            out["ok"] = control.sleep(60)
            done.set()

        threading.Thread(target=run, daemon=True).start()
        assert not done.wait(BLOCKED)
        {"stop": control.stop, "pause": control.pause, "speed": lambda c=control: c.set_speed(5)}[wake]()
        assert done.wait(WAIT), wake
        assert out["ok"] is (wake != "stop")
    assert RunControl().sleep(0) is True
