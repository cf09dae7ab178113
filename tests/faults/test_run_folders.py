"""Items 2, 4 and 14: run folders are never mixed, a SIGTERM stops a run cleanly, a kill -9 leaves a
folder every reader calls incomplete, and run-folder files honour the umask.

The signal tests send real signals to a real `workstation run` process, clock-driven (speed 20,000:
one session takes about a second) so the signal lands inside a session; they wait for what the
process writes (run_status.json), never for a fixed time. The other cases call the command line in
this process (same code path, no interpreter start-up).
"""

from __future__ import annotations

import json
import os
import signal
import stat
from pathlib import Path

import pandas as pd
import pytest

from tests.faults.helpers import ROOT, cli_in_process, config_file, read_status, start_cli, wait_for
from workstation.run_writer import RunFolderError, prepare_run_folder, run_folder_status, unique_run_dir

SESSIONS = 10


@pytest.fixture
def run(tmp_path, demo_store, capsys, monkeypatch):
    """run(out, *options, speed=0) -> (exit code, stdout, stderr) of `workstation run` in this process."""
    monkeypatch.chdir(tmp_path)
    cfg = config_file(tmp_path / "cfg.json", demo_store)

    def go(out, *options):
        args = ["run", str(cfg), *(["--out", str(out)] if out is not None else []), *options]
        return cli_in_process(capsys, *args)

    return go


# ------------------------------------------------------------------ item 2: --out never mixes two runs
def test_rerun_into_the_same_out_is_refused_and_keeps_the_first_run(tmp_path, run):
    out = tmp_path / "run"
    code, _, err = run(out, "--end", "2024-11-26")
    assert code == 0, err
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    code, _, err = run(out, "--start", "2024-12-02")
    assert code == 2
    assert "is not empty" in err and "--overwrite" in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_overwrite_clears_the_old_run_first(tmp_path, run):
    out = tmp_path / "run"
    assert run(out)[0] == 0                                          # 10 sessions
    code, _, err = run(out, "--overwrite", "--start", "2024-12-05")  # 2 sessions
    assert code == 0, err
    bars = pd.read_parquet(out / "bars.parquet")
    dates = set(bars["timestamp"].dt.tz_convert("America/New_York").dt.date.astype(str))
    assert dates == {"2024-12-05", "2024-12-06"}                     # nothing of the first run is left
    signals = pd.read_parquet(out / "signals.parquet")
    assert (signals["time"] >= pd.Timestamp("2024-12-05 14:30", tz="UTC")).all()
    assert json.loads((out / "metrics.json").read_text())["summary"]["sessions_done"] == 2


def test_overwrite_never_clears_a_folder_that_is_not_a_run(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.txt").write_text("mine")
    (folder / "report.txt").write_text("also mine")
    with pytest.raises(RunFolderError, match="clears only run folders"):
        prepare_run_folder(folder, tmp_path / "runs", "x", overwrite=True)
    assert (folder / "thesis.txt").read_text() == "mine"


def test_default_run_folder_is_new_and_timestamped(tmp_path, run):
    code, out, err = run(None, "--end", "2024-11-22")
    assert code == 0, err
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("cfg-") and f"run folder: runs/{folder.name}" in out
    same_second = [unique_run_dir(tmp_path / "runs", "cfg") for _ in range(3)]
    assert len(set(same_second)) == 3 and all(p.is_dir() for p in same_second)   # never a shared folder


def test_out_that_is_a_file_or_not_writable(tmp_path, run, read_only):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(afile)
    assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err
    locked = tmp_path / "locked"
    locked.mkdir()
    view = read_only(locked)
    if view is None:
        pytest.skip("this machine refuses a read-only bind mount; EACCES is injected in the next test")
    code, _, err = run(view / "run")
    assert code == 2 and "cannot create the run folder" in err and "read-only" in err
    assert not list(locked.iterdir())


def test_out_not_writable_when_the_os_says_permission_denied(tmp_path, run, monkeypatch):
    """What a non-root user gets from a chmod'ed folder (root ignores permission bits)."""
    real_mkdir = type(tmp_path).mkdir

    def refuse(self, *args, **kwargs):
        if "denied" in str(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(type(tmp_path), "mkdir", refuse)
    code, _, err = run(tmp_path / "denied" / "run")
    assert code == 2 and "cannot create the run folder" in err and "permission denied" in err


# ------------------------------------------------------------------ item 4: SIGTERM and kill -9
def assert_whole_bar_times(part, store) -> None:
    """The part's (a file's, or a frame's) 1m bars are exactly the store's bars of its date up to its
    last bar time."""
    from workstation.store import BarStore

    minute = (part if isinstance(part, pd.DataFrame) else pd.read_parquet(part)).query("interval == '1m'")
    first, last = minute["timestamp"].min(), minute["timestamp"].max()
    stored = BarStore(store).read_bars(None, "1m", first.value, last.value + 1, rth_only=True)
    assert len(minute) == len(stored) > 0
    assert (minute.groupby("timestamp").size() == stored.groupby("timestamp").size()).all()


def _start_slow_run(tmp_path, demo_store, out):
    cfg = config_file(tmp_path / "slow.json", demo_store, speed=20_000)
    proc = start_cli("run", str(cfg), "--out", str(out), cwd=tmp_path)
    wait_for(lambda: read_status(out).get("sessions_done", 0) >= 1, "the first session was written", proc)
    return proc


def test_sigterm_stops_a_real_run_cleanly(tmp_path, demo_store):
    out = tmp_path / "run"
    proc = _start_slow_run(tmp_path, demo_store, out)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    status = read_status(out)
    assert status["state"] == "stopped" and status["complete"] is True
    done = status["sessions_done"]
    assert 1 <= done < SESSIONS
    parts = sorted((out / "bars.parquet").iterdir())
    assert done - 1 <= len(parts) <= done           # a session stopped before its first bar has no bars
    for part in parts:                              # every bar time whole: stopped between two of them
        assert_whole_bar_times(part, demo_store)
    assert "state stopped" in (out / "report.txt").read_text() and "state stopped" in stdout
    assert json.loads((out / "metrics.json").read_text())["summary"]["state"] == "stopped"
    assert run_folder_status(out).complete


def test_sigterm_mid_session_writes_the_session_in_progress(tmp_path, demo_store):
    """The pieces `workstation run` uses, in this process; a real SIGTERM is sent to this process at
    the 100th bar time of the second session (the signal test above may land between two sessions)."""
    from workstation.config import load_config
    from workstation.run_commands import StopOnSignals, drive_run, finish_run
    from workstation.run_writer import RunWriter
    from workstation.system import SystemManager

    cfg = load_config(config_file(tmp_path / "cfg.json", demo_store, speed=20_000))
    system = SystemManager(cfg, store_path=demo_store)
    out = prepare_run_folder(tmp_path / "run", tmp_path / "runs", "x")
    bar_times = {"n": 0}

    def on_bars(_kind, _payload):
        if system.coordinator.sessions_done == 1:
            bar_times["n"] += 1
            if bar_times["n"] == 100:
                os.kill(os.getpid(), signal.SIGTERM)

    system.events.subscribe("bars", on_bars)
    previous_handler = signal.getsignal(signal.SIGTERM)
    with StopOnSignals(system) as signals:
        writer = RunWriter(system, out)
        system.start()
        drive_run(system, writer)
    assert signals.received == signal.SIGTERM
    assert finish_run(system, writer, out, signals.received) == 143
    status = read_status(out)
    assert (status["state"], status["complete"], status["sessions_done"]) == ("stopped", True, 2)
    bars = pd.read_parquet(out / "bars.parquet")
    days = bars["timestamp"].dt.tz_convert("America/New_York").dt.date.map(str)
    assert days.nunique() == 2
    second = bars[days == days.max()].reset_index(drop=True)
    n = second.query("interval == '1m'")["timestamp"].nunique()
    assert 100 <= n < 390                           # the session in progress, up to the stop
    assert_whole_bar_times(second, demo_store)
    assert signal.getsignal(signal.SIGTERM) is previous_handler      # restored after the run


def test_kill_9_leaves_a_folder_every_reader_calls_incomplete(tmp_path, demo_store, run, qtbot):
    out = tmp_path / "run"
    proc = _start_slow_run(tmp_path, demo_store, out)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    status = run_folder_status(out)
    assert not status.complete and status.state == "killed" and "INCOMPLETE" in status.message
    from workstation import cli

    assert cli.main(["report", str(out)]) == 1
    code, _, err = run(out)
    assert code == 2 and "INCOMPLETE" in err

    from ui.windows.results_view import ResultsView

    view = ResultsView()
    qtbot.addWidget(view)
    view.load_run_folder(out)
    assert not view.completion_label.isHidden() and "INCOMPLETE" in view.completion_label.text()
    complete = tmp_path / "complete"
    assert run(complete, "--end", "2024-11-22")[0] == 0
    view.load_run_folder(complete)
    assert view.completion_label.isHidden()


def test_a_killed_run_not_reaped_yet_is_already_called_killed(tmp_path, demo_store):
    """Its parent has not collected its exit status yet (a zombie, e.g. read a moment after kill -9): the
    process has ended, so the folder is INCOMPLETE, not "still being written"; and a zombie holds no
    store lock either (workstation.store.lock.pid_alive)."""
    import time

    from workstation.store.lock import pid_alive

    out = tmp_path / "run"
    proc = _start_slow_run(tmp_path, demo_store, out)
    proc.kill()
    deadline = time.monotonic() + 30
    while Path(f"/proc/{proc.pid}/stat").read_text().split(")")[-1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the killed process never became a zombie"
        time.sleep(0.01)
    try:
        assert not pid_alive(proc.pid)
        status = run_folder_status(out)
        assert not status.complete and status.state == "killed" and "INCOMPLETE" in status.message
    finally:
        proc.communicate(timeout=60)
    assert pid_alive(os.getpid())                  # a running process is still running


def test_report_command(tmp_path, run, capsys):
    out = tmp_path / "run"
    assert run(out, "--end", "2024-11-25")[0] == 0
    code, stdout, _ = cli_in_process(capsys, "report", str(out), "--json")
    assert code == 0
    document = json.loads(stdout)
    assert {k: document[k] for k in ("run_dir", "complete", "state", "message", "sessions_done",
                                     "sessions_total")} == {
        "run_dir": str(out), "complete": True, "state": "finished", "message": "complete",
        "sessions_done": 2, "sessions_total": 2}
    code, stdout, _ = cli_in_process(capsys, "report", str(out))
    assert code == 0 and "complete" in stdout and "Total return" in stdout
    code, _, err = cli_in_process(capsys, "report", str(tmp_path))
    assert code == 2 and "not a run folder" in err


# ------------------------------------------------------------------ item 14: the umask
@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_run_folder_files_honour_the_umask(tmp_path, run, umask, file_mode, dir_mode):
    out = tmp_path / "run"
    old = os.umask(umask)
    try:
        code, _, err = run(out, "--end", "2024-11-25")
    finally:
        os.umask(old)
    assert code == 0, err
    files = [p for p in out.rglob("*") if p.is_file()]
    names = {p.name for p in files} | {p.parent.name for p in files if p.parent != out}   # part folders too
    assert names >= {"config.json", "metrics.json", "report.txt", "run_status.json",
                                       "trades.parquet", "equity.parquet"}
    assert any(name.startswith("part-") for name in names)
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in files}
    assert set(modes.values()) == {file_mode}, modes
    assert {stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")] if p.is_dir()} == {dir_mode}


def test_sweep_folder_and_drawing_files_honour_the_umask(tmp_path):
    """They were written through tempfile.mkstemp: 0600 whatever the umask (a sweep shared with a team
    was unreadable to it)."""
    import pandas as pd

    from ui.widgets.chart.drawing_model import DrawingBook
    from workstation.sweep.results import SweepFolder

    old = os.umask(0o027)
    try:
        folder = SweepFolder(tmp_path / "sweep")
        folder.write_definition({"identity": {}})
        folder.write_progress({"state": "running"})
        folder.write_cell_config("cell1", {"name": "x"})
        folder.write_results([{"cell": 0, "cell_id": "a", "status": "ok", "sharpe": 1.0}], [])
        drawings = DrawingBook(tmp_path / "cfg.drawings.json")
        assert drawings.save()
    finally:
        os.umask(old)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"sweep.json", "progress.json", "cell1.json", "results.parquet",
                                       "cfg.drawings.json"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o640}, {str(p): oct(p.stat().st_mode) for p in files}
    assert len(pd.read_parquet(tmp_path / "sweep" / "results.parquet")) == 1


def test_saved_config_honours_the_umask(tmp_path):
    from workstation.config import load_config, save_config

    cfg = load_config(ROOT / "session_configs" / "example_session.json")
    old = os.umask(0o027)
    try:
        path = save_config(cfg, tmp_path / "saved.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_two_runs_into_one_empty_folder_at_once(tmp_path):
    """Of two runs that both find --out empty, only the first to claim it writes there."""
    out = tmp_path / "run"
    out.mkdir()
    assert prepare_run_folder(out, tmp_path / "runs", "x") == out
    with pytest.raises(RunFolderError, match="another run has just started"):
        from workstation.run_writer import _claim

        _claim(out)
    status = run_folder_status(out)
    assert status.state == "running" and status.process_alive and not status.complete
