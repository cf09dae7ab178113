"""A replay traded by hand, killed (kill -9) in the middle of a session, is taken up again from its run
folder (workstation.runs.continuation, the window's File → Continue a run…): its hand orders are in
`manual_orders.json` (written at each order), the session in progress is not in its tables, and the
continuation pauses at the bar time the last order followed with the state a run that never died has
there. The reference is the same config run straight with the same orders scheduled, paused at that bar
time (tests/workstation/pipeline/test_step_back.py's straight run)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading

import pytest

from tests.faults.helpers import ROOT, cli_env
from tests.workstation.pipeline.test_step_back import (
    assert_same,
    state_of,
    straight_run,
    wait_position,
)
from workstation.pipeline.snapshots import SeekDone
from workstation.runs.continuation import read_continuation
from workstation.store import BarStore, generate_demo
from workstation.system import SystemManager

# The trader's run (a child process): the ORB example with its strategy, rewindable as in the window,
# its folder written as the window writes it; two orders by hand while paused, then on a few bar times.
CHILD = r"""
import sys, time
from pathlib import Path
from tests.workstation.pipeline.test_step_back import orb_config, wait_applied, wait_position
from workstation.execution.manual import SubmitOrder
from workstation.run_writer import RunWriter
from workstation.store import BarStore
from workstation.system import SystemManager

store, out = BarStore(sys.argv[1]), Path(sys.argv[2])
system = SystemManager(orb_config(), store=store, rewindable=True)
RunWriter(system, out, write_bars=False)
system.control.pause()
system.start()
for position, command in ((40, SubmitOrder("ACME", 30, "market", stop_loss=1.0, take_profit=10_000.0)),
                          (52, SubmitOrder("BOLT", -20, "market"))):
    system.step(position - system.position)
    wait_position(system, position)
    before = system.analysis.hand_orders_applied
    system.manual_orders.put(command)
    while system.analysis.hand_orders_applied == before or len(system.manual_orders):
        time.sleep(0.002)
    # written at each hand order, by the engine thread: wait until the file holds this one
    while (out / "manual_orders.json").read_text().count('"action"') < (1 if position == 40 else 2):
        time.sleep(0.002)
system.step(9)
wait_position(system, 61)
print("READY", flush=True)
time.sleep(600)
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> BarStore:
    root = tmp_path_factory.mktemp("continue_store") / "store"
    generate_demo(root, symbols=["ACME", "BOLT", "CYRX"], days=3, seed=11)
    return BarStore(root)


def test_a_run_killed_mid_session_is_taken_up_at_its_last_hand_order(store, tmp_path):
    folder = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(store.root), str(folder)], cwd=ROOT, env=cli_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "READY", (line, child.stderr.read() if child.poll() is not None else "")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    status = json.loads((folder / "run_status.json").read_text())
    assert status["state"] == "running" and status["sessions_done"] == 0      # killed in its first session
    assert status["store"] == str(store.root.resolve())       # where a continuation from elsewhere finds it

    continuing = read_continuation(folder)
    assert len(continuing.hand_orders) == 2
    system = SystemManager(continuing.config, store=store, rewindable=True)
    seeks: list[SeekDone] = []
    seen = threading.Event()
    system.events.subscribe("seek", lambda _kind, done: (seeks.append(done), seen.set()))
    system.manual_orders.schedule(continuing.hand_orders)
    system.control.pause()
    system.start()
    system.seek(continuing.resume_ns)
    assert seen.wait(60) and seeks[-1].position == 52          # the bar time the last order followed
    wait_position(system, 52)
    _, reference = straight_run(store, tmp_path / "reference", continuing.hand_orders, stop_at=52)
    assert_same(state_of(system), reference["at"], "taken up")
    assert [o.strategy for o in system.broker.orders()].count("manual") >= 2
    system.resume()
    assert system.wait(120) and system.error is None, system.error
